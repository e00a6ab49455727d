/*
 * The apps-lookup provider of `netipc serve`, Windows half: refused.
 * Windows has no /proc, and its processes have no cgroup, uid or starttime
 * in the sense apps-lookup answers, so `serve apps-lookup` says so in one
 * line instead of serving made-up answers. (`call apps-lookup` works: it is
 * a client of whatever provider runs.) cgroups-lookup is the same on every
 * platform (lookup_cgroups.c); here only with --corpus N.
 */
#include <time.h>

#include "tools/tool.h"

nipc_error_t nipc_tool_apps_available(void)
{
    return NIPC_ERR_PLATFORM;
}

/* Never registered, since nipc_tool_apps_available() refuses; should it be,
 * every pid is UNKNOWN rather than invented. */
nipc_error_t nipc_tool_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b)
{
    const uint64_t *generation = ctx;
    nipc_apps_lookup_builder_set_generation(b, *generation);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN,
                                      .uid = NIPC_UID_UNSET,
                                      .comm = {"", 0},
                                      .cgroup_path = {"", 0},
                                      .cgroup_name = {"", 0}};
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

uint64_t nipc_tool_apps_generation(void)
{
    return (uint64_t)time(NULL);
}
