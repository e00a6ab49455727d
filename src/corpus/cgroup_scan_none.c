/* Platforms without cgroups: the scanner reports UNSUPPORTED. */
#include "corpus/corpus.h"

#include <string.h>

nipc_error_t nipc_cgroup_set_scan(const char *root, uint32_t max_items, nipc_cgroup_set_t *set)
{
    (void)root;
    (void)max_items;
    memset(set, 0, sizeof *set);
    return NIPC_ERR_UNSUPPORTED;
}
