/*
 * Sizes and field offsets of every C structure that the Rust binding
 * declares again in src/ffi.rs. The crate's layout test compares them with
 * what Rust computes, so a field added, removed or reordered in a public
 * header fails the test instead of corrupting memory.
 */
#include <stddef.h>

#include "netipc/netipc.h"

struct nipc_rust_layout_entry {
    const char *name;
    size_t value;
};

#define SIZE(T) {#T, sizeof(T)}, {#T " align", _Alignof(T)},
#define OFF(T, f) {#T "." #f, offsetof(T, f)},

const struct nipc_rust_layout_entry nipc_rust_layout[] = {
    SIZE(nipc_str_t) OFF(nipc_str_t, ptr) OFF(nipc_str_t, len)

    SIZE(nipc_client_config_t) OFF(nipc_client_config_t, supported_profiles)
    OFF(nipc_client_config_t, preferred_profiles) OFF(nipc_client_config_t, max_request_payload_bytes)
    OFF(nipc_client_config_t, max_request_batch_items)
    OFF(nipc_client_config_t, max_response_payload_bytes)
    OFF(nipc_client_config_t, max_payload_ceiling) OFF(nipc_client_config_t, auth_token)
    OFF(nipc_client_config_t, call_timeout_ms) OFF(nipc_client_config_t, shm_attach_timeout_ms)
    OFF(nipc_client_config_t, max_logical_lookup_items)
    OFF(nipc_client_config_t, max_logical_lookup_subcalls)
    OFF(nipc_client_config_t, max_logical_lookup_response_bytes)
    OFF(nipc_client_config_t, allowed_server_uids) OFF(nipc_client_config_t, allowed_server_uid_count)
    OFF(nipc_client_config_t, exact_profiles) OFF(nipc_client_config_t, handshake_timeout_ms)

    SIZE(nipc_client_status_t) OFF(nipc_client_status_t, state)
    OFF(nipc_client_status_t, last_error) OFF(nipc_client_status_t, last_connect_error)
    OFF(nipc_client_status_t, connect_count) OFF(nipc_client_status_t, reconnect_count)
    OFF(nipc_client_status_t, call_count) OFF(nipc_client_status_t, error_count)
    OFF(nipc_client_status_t, selected_profile) OFF(nipc_client_status_t, max_request_payload)
    OFF(nipc_client_status_t, max_response_payload)

    SIZE(nipc_server_config_t) OFF(nipc_server_config_t, supported_profiles)
    OFF(nipc_server_config_t, preferred_profiles) OFF(nipc_server_config_t, max_request_payload_bytes)
    OFF(nipc_server_config_t, max_request_batch_items)
    OFF(nipc_server_config_t, max_response_payload_bytes) OFF(nipc_server_config_t, auth_token)
    OFF(nipc_server_config_t, max_sessions) OFF(nipc_server_config_t, handshake_timeout_ms)
    OFF(nipc_server_config_t, allowed_uids) OFF(nipc_server_config_t, allowed_uid_count)
    OFF(nipc_server_config_t, exact_profiles)

    SIZE(nipc_server_stats_t) OFF(nipc_server_stats_t, sessions_accepted)
    OFF(nipc_server_stats_t, sessions_rejected) OFF(nipc_server_stats_t, handshakes_failed)
    OFF(nipc_server_stats_t, requests) OFF(nipc_server_stats_t, request_errors)
    OFF(nipc_server_stats_t, sessions_active)

    SIZE(nipc_cgroups_builder_t) OFF(nipc_cgroups_builder_t, buf) OFF(nipc_cgroups_builder_t, cap)
    OFF(nipc_cgroups_builder_t, item_count) OFF(nipc_cgroups_builder_t, added)
    OFF(nipc_cgroups_builder_t, packed_len) OFF(nipc_cgroups_builder_t, err)

    SIZE(nipc_cgroups_view_t) OFF(nipc_cgroups_view_t, payload) OFF(nipc_cgroups_view_t, len)
    OFF(nipc_cgroups_view_t, item_count) OFF(nipc_cgroups_view_t, systemd_enabled)
    OFF(nipc_cgroups_view_t, generation)

    SIZE(nipc_cgroup_item_t) OFF(nipc_cgroup_item_t, hash) OFF(nipc_cgroup_item_t, options)
    OFF(nipc_cgroup_item_t, enabled) OFF(nipc_cgroup_item_t, name) OFF(nipc_cgroup_item_t, path)

    SIZE(nipc_label_t) OFF(nipc_label_t, key) OFF(nipc_label_t, value)
    SIZE(nipc_lookup_labels_t) OFF(nipc_lookup_labels_t, item) OFF(nipc_lookup_labels_t, table)
    OFF(nipc_lookup_labels_t, count)

    SIZE(nipc_cgroups_lookup_req_t) OFF(nipc_cgroups_lookup_req_t, payload)
    OFF(nipc_cgroups_lookup_req_t, len) OFF(nipc_cgroups_lookup_req_t, item_count)
    SIZE(nipc_cgroups_lookup_item_t) OFF(nipc_cgroups_lookup_item_t, status)
    OFF(nipc_cgroups_lookup_item_t, orchestrator) OFF(nipc_cgroups_lookup_item_t, path)
    OFF(nipc_cgroups_lookup_item_t, name) OFF(nipc_cgroups_lookup_item_t, labels)
    SIZE(nipc_cgroups_lookup_view_t) OFF(nipc_cgroups_lookup_view_t, payload)
    OFF(nipc_cgroups_lookup_view_t, len) OFF(nipc_cgroups_lookup_view_t, item_count)
    OFF(nipc_cgroups_lookup_view_t, generation)

    SIZE(nipc_apps_lookup_req_t) OFF(nipc_apps_lookup_req_t, payload)
    OFF(nipc_apps_lookup_req_t, len) OFF(nipc_apps_lookup_req_t, item_count)
    SIZE(nipc_apps_lookup_item_t) OFF(nipc_apps_lookup_item_t, status)
    OFF(nipc_apps_lookup_item_t, orchestrator) OFF(nipc_apps_lookup_item_t, cgroup_status)
    OFF(nipc_apps_lookup_item_t, pid) OFF(nipc_apps_lookup_item_t, ppid)
    OFF(nipc_apps_lookup_item_t, uid) OFF(nipc_apps_lookup_item_t, starttime)
    OFF(nipc_apps_lookup_item_t, comm) OFF(nipc_apps_lookup_item_t, cgroup_path)
    OFF(nipc_apps_lookup_item_t, cgroup_name) OFF(nipc_apps_lookup_item_t, labels)
    SIZE(nipc_apps_lookup_view_t) OFF(nipc_apps_lookup_view_t, payload)
    OFF(nipc_apps_lookup_view_t, len) OFF(nipc_apps_lookup_view_t, item_count)
    OFF(nipc_apps_lookup_view_t, generation)

    SIZE(nipc_cgroups_cache_status_t) OFF(nipc_cgroups_cache_status_t, populated)
    OFF(nipc_cgroups_cache_status_t, item_count) OFF(nipc_cgroups_cache_status_t, systemd_enabled)
    OFF(nipc_cgroups_cache_status_t, generation)
    OFF(nipc_cgroups_cache_status_t, refresh_success_count)
    OFF(nipc_cgroups_cache_status_t, refresh_failure_count)
    OFF(nipc_cgroups_cache_status_t, last_refresh_ms) OFF(nipc_cgroups_cache_status_t, last_error)
    OFF(nipc_cgroups_cache_status_t, client_state)

    {"nipc_error_t", sizeof(nipc_error_t)},
    {"nipc_client_state_t", sizeof(nipc_client_state_t)},
};

const size_t nipc_rust_layout_count = sizeof nipc_rust_layout / sizeof nipc_rust_layout[0];
