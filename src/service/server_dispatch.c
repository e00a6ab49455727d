/*
 * Per-method request processing for the managed server: decode the request
 * (a codec error becomes BAD_ENVELOPE), call the typed handler, encode its
 * answer into the session's response buffer. Also the typed constructors.
 */
#include "netipc/codec.h"
#include "service/service_internal.h"

#include "common/internal.h"

/* Handler results: BUFFER_TOO_SMALL keeps its meaning (LIMIT_EXCEEDED),
 * anything else non-OK is a handler failure (INTERNAL_ERROR). */
static nipc_error_t handler_result(nipc_error_t err)
{
    if (err == NIPC_OK || err == NIPC_ERR_BUFFER_TOO_SMALL)
        return err;
    return NIPC_ERR_HANDLER_FAILED;
}

static nipc_error_t dispatch_increment(const nipc__handler_t *handler, void *ctx,
                                       const uint8_t *req, size_t req_len, uint8_t *out,
                                       size_t cap, size_t *out_len)
{
    uint64_t in, answer;
    nipc_error_t err = nipc_increment_decode(req, req_len, &in);
    if (err != NIPC_OK)
        return err;
    err = handler_result(handler->increment(ctx, in, &answer));
    if (err != NIPC_OK)
        return err;
    return nipc_increment_encode(answer, out, cap, out_len);
}

static nipc_error_t dispatch_string_reverse(const nipc__handler_t *handler, void *ctx, const uint8_t *req,
                                            size_t req_len, uint8_t *out, size_t cap,
                                            size_t *out_len)
{
    nipc_str_t in;
    nipc_error_t err = nipc_string_reverse_decode(req, req_len, &in);
    if (err != NIPC_OK)
        return err;
    if (cap < NIPC_STRING_REVERSE_FIXED + 1u)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    /* The handler writes the answer in place, after the fixed part, with
     * room left for the terminating NUL. */
    uint64_t room = cap - NIPC_STRING_REVERSE_FIXED - 1u;
    uint32_t n = 0;
    err = handler_result(handler->string_reverse(ctx, in, (char *)out + NIPC_STRING_REVERSE_FIXED,
                            room > UINT32_MAX ? UINT32_MAX : (uint32_t)room, &n));
    if (err != NIPC_OK)
        return err;
    if (n > room)
        return NIPC_ERR_HANDLER_FAILED; /* claims more than it was given */
    nipc__st32(out, NIPC_STRING_REVERSE_FIXED);
    nipc__st32(out + 4, n);
    out[NIPC_STRING_REVERSE_FIXED + (size_t)n] = 0;
    *out_len = NIPC_STRING_REVERSE_FIXED + (size_t)n + 1u;
    return NIPC_OK;
}

static nipc_error_t dispatch_cgroups_snapshot(const nipc__handler_t *handler, void *ctx, const uint8_t *req,
                                              size_t req_len, uint8_t *out, size_t cap,
                                              size_t *out_len)
{
    nipc_error_t err = nipc_cgroups_req_decode(req, req_len);
    if (err != NIPC_OK)
        return err;
    size_t len = 0;
    err = handler_result(handler->cgroups_snapshot(ctx, out, cap, &len));
    if (err != NIPC_OK)
        return err;
    if (len > cap)
        return NIPC_ERR_HANDLER_FAILED;
    *out_len = len;
    return NIPC_OK;
}

const nipc__method_t nipc__method_increment = {NIPC_METHOD_INCREMENT, 1, dispatch_increment};
const nipc__method_t nipc__method_string_reverse = {NIPC_METHOD_STRING_REVERSE, 1,
                                                    dispatch_string_reverse};
const nipc__method_t nipc__method_cgroups_snapshot = {NIPC_METHOD_CGROUPS_SNAPSHOT, 0,
                                                      dispatch_cgroups_snapshot};

nipc_error_t nipc_server_create_increment(const char *run_dir, const char *service,
                                          const nipc_server_config_t *config,
                                          nipc_increment_handler_fn fn, void *ctx,
                                          nipc_server_t **out)
{
    if (!fn)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc__handler_t h = {.increment = fn};
    return nipc__server_create(run_dir, service, config, &nipc__method_increment, h, ctx, out);
}

nipc_error_t nipc_server_create_string_reverse(const char *run_dir, const char *service,
                                               const nipc_server_config_t *config,
                                               nipc_string_reverse_handler_fn fn, void *ctx,
                                               nipc_server_t **out)
{
    if (!fn)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc__handler_t h = {.string_reverse = fn};
    return nipc__server_create(run_dir, service, config, &nipc__method_string_reverse, h, ctx,
                               out);
}

nipc_error_t nipc_server_create_cgroups_snapshot(const char *run_dir, const char *service,
                                                 const nipc_server_config_t *config,
                                                 nipc_cgroups_snapshot_handler_fn fn, void *ctx,
                                                 nipc_server_t **out)
{
    if (!fn)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc__handler_t h = {.cgroups_snapshot = fn};
    return nipc__server_create(run_dir, service, config, &nipc__method_cgroups_snapshot, h, ctx,
                               out);
}
