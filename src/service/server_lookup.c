/*
 * Managed-server dispatch for the lookup services (services.md §6-7,
 * codecs.md §4): decode the request (a codec error is BAD_ENVELOPE), give
 * the typed handler the request and a reply builder over the session's
 * response buffer, and turn the builder's verdict into the wire outcome.
 * Also the typed constructors. Lookup endpoints are not batch-aware; the
 * session loop (server.c) refuses a BATCH request before it gets here.
 */
#include "netipc/lookup.h"
#include "service/service_internal.h"

/*
 * The builder judges the answer first, because a handler that got an error
 * from add() may return it as its own failure:
 *  - a sticky argument error (an invalid item) → BAD_ENVELOPE, as upstream
 *    (INVALID_ARGUMENT, a NULL string, is one too);
 *  - an overflow (not even minimal items fit, or more items than keys) →
 *    BUFFER_TOO_SMALL → LIMIT_EXCEEDED;
 * then a failing handler → INTERNAL_ERROR (BUFFER_TOO_SMALL keeps its
 * meaning), and only then a short answer (BAD_ITEM_COUNT → BAD_ENVELOPE).
 */
static nipc_error_t lookup_result(nipc_error_t handler, nipc_error_t built)
{
    if (built == NIPC_ERR_INVALID_ARGUMENT)
        built = NIPC_ERR_BAD_FIELD;
    if (built != NIPC_OK && built != NIPC_ERR_BAD_ITEM_COUNT)
        return built;
    if (handler != NIPC_OK)
        return handler == NIPC_ERR_BUFFER_TOO_SMALL ? handler : NIPC_ERR_HANDLER_FAILED;
    return built;
}

static nipc_error_t dispatch_cgroups_lookup(const nipc__handler_t *handler, void *ctx,
                                            const uint8_t *req, size_t req_len, uint8_t *out,
                                            size_t cap, size_t *out_len)
{
    nipc_cgroups_lookup_req_t r;
    nipc_error_t err = nipc_cgroups_lookup_req_decode(req, req_len, &r);
    if (err != NIPC_OK)
        return err;
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, cap, &r, 0);
    err = handler->cgroups_lookup(ctx, &r, &b);
    return lookup_result(err, nipc_cgroups_lookup_builder_finish(&b, out_len));
}

static nipc_error_t dispatch_apps_lookup(const nipc__handler_t *handler, void *ctx,
                                         const uint8_t *req, size_t req_len, uint8_t *out,
                                         size_t cap, size_t *out_len)
{
    nipc_apps_lookup_req_t r;
    nipc_error_t err = nipc_apps_lookup_req_decode(req, req_len, &r);
    if (err != NIPC_OK)
        return err;
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_builder_init_reply(&b, out, cap, &r, 0);
    err = handler->apps_lookup(ctx, &r, &b);
    return lookup_result(err, nipc_apps_lookup_builder_finish(&b, out_len));
}

const nipc__method_t nipc__method_cgroups_lookup = {
    .code = NIPC_METHOD_CGROUPS_LOOKUP,
    .batchable = 0,
    .dispatch = dispatch_cgroups_lookup,
};
const nipc__method_t nipc__method_apps_lookup = {
    .code = NIPC_METHOD_APPS_LOOKUP,
    .batchable = 0,
    .dispatch = dispatch_apps_lookup,
};

nipc_error_t nipc_server_create_cgroups_lookup(const char *run_dir, const char *service,
                                               const nipc_server_config_t *config,
                                               nipc_cgroups_lookup_handler_fn fn, void *ctx,
                                               nipc_server_t **out)
{
    if (!fn)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc__handler_t h = {.cgroups_lookup = fn};
    return nipc__server_create(run_dir, service, config, &nipc__method_cgroups_lookup, h, ctx, out);
}

nipc_error_t nipc_server_create_apps_lookup(const char *run_dir, const char *service,
                                            const nipc_server_config_t *config,
                                            nipc_apps_lookup_handler_fn fn, void *ctx,
                                            nipc_server_t **out)
{
    if (!fn)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc__handler_t h = {.apps_lookup = fn};
    return nipc__server_create(run_dir, service, config, &nipc__method_apps_lookup, h, ctx, out);
}
