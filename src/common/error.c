/*
 * Error names and messages, generated from NIPC_ERROR_LIST, and the
 * per-thread operating-system error detail.
 */
#include "netipc/error.h"

#include "common/internal.h"

static const char *const messages[] = {
#define NIPC__ERROR_MSG(name, msg) msg,
    NIPC_ERROR_LIST(NIPC__ERROR_MSG)
#undef NIPC__ERROR_MSG
};

static const char *const names[] = {
#define NIPC__ERROR_NAME(name, msg) #name,
    NIPC_ERROR_LIST(NIPC__ERROR_NAME)
#undef NIPC__ERROR_NAME
};

static _Thread_local int last_os_error;

const char *nipc_strerror(nipc_error_t err)
{
    if ((unsigned)err >= (unsigned)NIPC_ERR__COUNT)
        return "unknown error code";
    return messages[err];
}

const char *nipc_error_name(nipc_error_t err)
{
    if ((unsigned)err >= (unsigned)NIPC_ERR__COUNT)
        return "UNKNOWN";
    return names[err];
}

int nipc_last_os_error(void)
{
    return last_os_error;
}

nipc_error_t nipc__os_fail(nipc_error_t err, int os_error)
{
    last_os_error = os_error;
    return err;
}
