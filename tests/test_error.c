/* Error model: every code has a distinct name and a message. */
#include "test.h"

static void names_and_messages(void)
{
    for (int e = 0; e < NIPC_ERR__COUNT; e++) {
        const char *name = nipc_error_name((nipc_error_t)e);
        const char *msg = nipc_strerror((nipc_error_t)e);
        CHECK(name && *name && strcmp(name, "UNKNOWN") != 0);
        CHECK(msg && *msg && strcmp(msg, "unknown error code") != 0);
        for (int o = 0; o < e; o++)
            CHECK(strcmp(name, nipc_error_name((nipc_error_t)o)) != 0);
    }
    CHECK(strcmp(nipc_error_name(NIPC_OK), "OK") == 0);
    CHECK(strcmp(nipc_error_name(NIPC_ERR_TIMEOUT), "TIMEOUT") == 0);
    CHECK(NIPC_OK == 0);
}

static void out_of_range(void)
{
    CHECK(strcmp(nipc_error_name(NIPC_ERR__COUNT), "UNKNOWN") == 0);
    CHECK(strcmp(nipc_strerror((nipc_error_t)-1), "unknown error code") == 0);
    CHECK(strcmp(nipc_error_name((nipc_error_t)100000), "UNKNOWN") == 0);
}

T_MAIN(T_CASE(names_and_messages), T_CASE(out_of_range))
