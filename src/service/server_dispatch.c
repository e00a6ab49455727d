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
    if (n > room) /* longer than the agreed response limit: LIMIT_EXCEEDED (§6) */
        return NIPC_ERR_BUFFER_TOO_SMALL;
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
    if (len > cap) /* longer than the agreed response limit: LIMIT_EXCEEDED (§6) */
        return NIPC_ERR_BUFFER_TOO_SMALL;
    *out_len = len;
    return NIPC_OK;
}

/*
 * INCREMENT batches in one pass. Answer i is always 8 bytes at packed
 * offset 8 i, so the response is what the batch builder would write. The
 * checks run in the generic path's order for each item: its request entry
 * (TRUNCATED directory, BAD_ALIGNMENT, OUT_OF_BOUNDS, as nipc_batch_item),
 * the item (TRUNCATED), the handler, then room for the answer
 * (BUFFER_TOO_SMALL, as nipc_batch_builder_add), so every request gets the
 * same status either way. Profiling showed the per-item calls (entry
 * lookup, decode, encode, builder memcpy/memset) costing more than the
 * transport on 1,000-item batches.
 */
nipc_error_t nipc__dispatch_increment_batch(const nipc__handler_t *handler, void *ctx,
                                            const uint8_t *req, size_t req_len,
                                            uint32_t item_count, uint8_t *out, size_t cap,
                                            size_t *out_len)
{
    uint64_t dir = (uint64_t)item_count * NIPC_BATCH_ENTRY_SIZE;
    if (item_count && dir > req_len)
        return NIPC_ERR_TRUNCATED;
    const uint8_t *packed = req + dir;
    uint64_t packed_len = req_len - dir;
    /* Level 1 already validated every entry of a directory of 2 or more
     * (nipc_session_receive); a single-item batch is checked here. */
    int checked = item_count > 1;
    for (uint32_t i = 0; i < item_count; i++) {
        const uint8_t *entry = req + (size_t)i * NIPC_BATCH_ENTRY_SIZE;
        uint32_t off = nipc__ld32(entry), len = nipc__ld32(entry + 4);
        if (!checked && off % 8u != 0)
            return NIPC_ERR_BAD_ALIGNMENT;
        if (!checked && (uint64_t)off + len > packed_len)
            return NIPC_ERR_OUT_OF_BOUNDS;
        if (len < NIPC_INCREMENT_SIZE)
            return NIPC_ERR_TRUNCATED;
        uint64_t answer;
        nipc_error_t err =
            handler_result(handler->increment(ctx, nipc__ld64(packed + off), &answer));
        if (err != NIPC_OK)
            return err;
        uint64_t at = (uint64_t)i * NIPC_INCREMENT_SIZE;
        if (dir + at + NIPC_INCREMENT_SIZE > cap)
            return NIPC_ERR_BUFFER_TOO_SMALL;
        nipc__st32(out + (size_t)i * NIPC_BATCH_ENTRY_SIZE, (uint32_t)at);
        nipc__st32(out + (size_t)i * NIPC_BATCH_ENTRY_SIZE + 4, NIPC_INCREMENT_SIZE);
        nipc__st64(out + dir + at, answer);
    }
    *out_len = (size_t)(dir + (uint64_t)item_count * NIPC_INCREMENT_SIZE);
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
