/*
 * Error names and messages, generated from NIPC_ERROR_LIST, and the
 * per-thread operating-system error detail.
 */
#include "netipc/error.h"
#include "netipc/version.h"

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

/* The OS error of this thread's last OS failure, and the netipc error it
 * was reported as: nipc__os_settle() drops it when a call ends with
 * another error, so it is never shown beside an error it did not cause. */
static _Thread_local int last_os_error;
static _Thread_local nipc_error_t last_os_code;

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

const char *nipc_version(void)
{
    return NIPC_VERSION_STRING;
}

int nipc_last_os_error(void)
{
    return last_os_error;
}

nipc_error_t nipc__os_fail(nipc_error_t err, int os_error)
{
    last_os_error = os_error;
    last_os_code = err;
    return err;
}

nipc_error_t nipc__os_settle(nipc_error_t err)
{
    if (err != NIPC_OK && err != last_os_code)
        last_os_error = 0;
    return err;
}
