//! Raw declarations of the C API (`include/netipc/*.h`), private to the
//! crate. Structures are `#[repr(C)]` copies of the C ones; the layout test
//! (`layout_matches_c` below) compares every size and field offset with what
//! the C compiler says (`csrc/layout.c`). C enums are plain integers here, so
//! an unexpected value from C can never be an invalid Rust enum.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

pub type nipc_error_t = u32;
pub type nipc_client_state_t = u32;

pub const NIPC_OK: nipc_error_t = 0;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_str_t {
    pub ptr: *const c_char,
    pub len: u32,
}

#[repr(C)]
pub struct nipc_client_t {
    _private: [u8; 0],
}

#[repr(C)]
pub struct nipc_server_t {
    _private: [u8; 0],
}

#[repr(C)]
pub struct nipc_cgroups_cache_t {
    _private: [u8; 0],
}

#[repr(C)]
pub struct nipc_cgroups_lookup_builder_t {
    _private: [u8; 0],
}

#[repr(C)]
pub struct nipc_apps_lookup_builder_t {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_client_config_t {
    pub supported_profiles: u32,
    pub preferred_profiles: u32,
    pub max_request_payload_bytes: u32,
    pub max_request_batch_items: u32,
    pub max_response_payload_bytes: u32,
    pub max_payload_ceiling: u32,
    pub auth_token: u64,
    pub call_timeout_ms: u32,
    pub shm_attach_timeout_ms: u32,
    pub max_logical_lookup_items: u32,
    pub max_logical_lookup_subcalls: u32,
    pub max_logical_lookup_response_bytes: u32,
    pub allowed_server_uids: *const u32,
    pub allowed_server_uid_count: u32,
    pub exact_profiles: c_int,
    pub handshake_timeout_ms: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_client_status_t {
    pub state: nipc_client_state_t,
    pub last_error: nipc_error_t,
    pub last_connect_error: nipc_error_t,
    pub connect_count: u64,
    pub reconnect_count: u64,
    pub call_count: u64,
    pub error_count: u64,
    pub selected_profile: u32,
    pub max_request_payload: u32,
    pub max_response_payload: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_server_config_t {
    pub supported_profiles: u32,
    pub preferred_profiles: u32,
    pub max_request_payload_bytes: u32,
    pub max_request_batch_items: u32,
    pub max_response_payload_bytes: u32,
    pub auth_token: u64,
    pub max_sessions: u32,
    pub handshake_timeout_ms: u32,
    pub allowed_uids: *const u32,
    pub allowed_uid_count: u32,
    pub exact_profiles: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_server_stats_t {
    pub sessions_accepted: u64,
    pub sessions_rejected: u64,
    pub handshakes_failed: u64,
    pub requests: u64,
    pub request_errors: u64,
    pub sessions_active: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_builder_t {
    pub buf: *mut u8,
    pub cap: usize,
    pub item_count: u32,
    pub added: u32,
    pub packed_len: u64,
    pub err: nipc_error_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_view_t {
    pub payload: *const u8,
    pub len: usize,
    pub item_count: u32,
    pub systemd_enabled: u32,
    pub generation: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroup_item_t {
    pub hash: u32,
    pub options: u32,
    pub enabled: u32,
    pub name: nipc_str_t,
    pub path: nipc_str_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_label_t {
    pub key: nipc_str_t,
    pub value: nipc_str_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_lookup_labels_t {
    pub item: *const u8,
    pub table: u32,
    pub count: u16,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_lookup_req_t {
    pub payload: *const u8,
    pub len: usize,
    pub item_count: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_lookup_item_t {
    pub status: u16,
    pub orchestrator: u16,
    pub path: nipc_str_t,
    pub name: nipc_str_t,
    pub labels: nipc_lookup_labels_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_lookup_view_t {
    pub payload: *const u8,
    pub len: usize,
    pub item_count: u32,
    pub generation: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_apps_lookup_req_t {
    pub payload: *const u8,
    pub len: usize,
    pub item_count: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_apps_lookup_item_t {
    pub status: u16,
    pub orchestrator: u16,
    pub cgroup_status: u16,
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub starttime: u64,
    pub comm: nipc_str_t,
    pub cgroup_path: nipc_str_t,
    pub cgroup_name: nipc_str_t,
    pub labels: nipc_lookup_labels_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_apps_lookup_view_t {
    pub payload: *const u8,
    pub len: usize,
    pub item_count: u32,
    pub generation: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct nipc_cgroups_cache_status_t {
    pub populated: c_int,
    pub item_count: u32,
    pub systemd_enabled: u32,
    pub generation: u64,
    pub refresh_success_count: u64,
    pub refresh_failure_count: u64,
    pub last_refresh_ms: u64,
    pub last_error: nipc_error_t,
    pub client_state: nipc_client_state_t,
}

pub type nipc_increment_handler_fn =
    unsafe extern "C" fn(ctx: *mut c_void, value: u64, out: *mut u64) -> nipc_error_t;
pub type nipc_string_reverse_handler_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    input: nipc_str_t,
    out: *mut c_char,
    cap: u32,
    out_len: *mut u32,
) -> nipc_error_t;
pub type nipc_cgroups_snapshot_handler_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    buf: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> nipc_error_t;
pub type nipc_cgroups_lookup_handler_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    req: *const nipc_cgroups_lookup_req_t,
    b: *mut nipc_cgroups_lookup_builder_t,
) -> nipc_error_t;
pub type nipc_apps_lookup_handler_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    req: *const nipc_apps_lookup_req_t,
    b: *mut nipc_apps_lookup_builder_t,
) -> nipc_error_t;

extern "C" {
    // error.h
    pub fn nipc_strerror(err: nipc_error_t) -> *const c_char;
    pub fn nipc_error_name(err: nipc_error_t) -> *const c_char;
    pub fn nipc_last_os_error() -> c_int;

    // codec.h
    pub fn nipc_djb2(s: *const c_char, len: usize) -> u32;
    pub fn nipc_cgroups_builder_init(
        b: *mut nipc_cgroups_builder_t,
        buf: *mut c_void,
        cap: usize,
        item_count: u32,
        systemd_enabled: u32,
        generation: u64,
    );
    pub fn nipc_cgroups_builder_add(
        b: *mut nipc_cgroups_builder_t,
        hash: u32,
        options: u32,
        enabled: u32,
        name: *const c_char,
        name_len: u32,
        path: *const c_char,
        path_len: u32,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_builder_finish(
        b: *mut nipc_cgroups_builder_t,
        out_len: *mut usize,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_resp_item(
        view: *const nipc_cgroups_view_t,
        index: u32,
        item: *mut nipc_cgroup_item_t,
    ) -> nipc_error_t;

    // lookup.h
    pub fn nipc_cgroup_lookup_status_name(status: u16) -> *const c_char;
    pub fn nipc_app_status_name(status: u16) -> *const c_char;
    pub fn nipc_app_cgroup_status_name(status: u16) -> *const c_char;
    pub fn nipc_orchestrator_name(orchestrator: u16) -> *const c_char;
    pub fn nipc_lookup_label(
        labels: *const nipc_lookup_labels_t,
        index: u32,
        out: *mut nipc_label_t,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_lookup_req_key(
        req: *const nipc_cgroups_lookup_req_t,
        index: u32,
        path: *mut nipc_str_t,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_lookup_resp_item(
        view: *const nipc_cgroups_lookup_view_t,
        index: u32,
        out: *mut nipc_cgroups_lookup_item_t,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_lookup_builder_set_generation(
        b: *mut nipc_cgroups_lookup_builder_t,
        generation: u64,
    );
    pub fn nipc_cgroups_lookup_builder_add(
        b: *mut nipc_cgroups_lookup_builder_t,
        item: *const nipc_cgroups_lookup_item_t,
        labels: *const nipc_label_t,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_lookup_builder_exceeded(b: *const nipc_cgroups_lookup_builder_t) -> bool;
    pub fn nipc_apps_lookup_req_pid(
        req: *const nipc_apps_lookup_req_t,
        index: u32,
        pid: *mut u32,
    ) -> nipc_error_t;
    pub fn nipc_apps_lookup_resp_item(
        view: *const nipc_apps_lookup_view_t,
        index: u32,
        out: *mut nipc_apps_lookup_item_t,
    ) -> nipc_error_t;
    pub fn nipc_apps_lookup_builder_set_generation(
        b: *mut nipc_apps_lookup_builder_t,
        generation: u64,
    );
    pub fn nipc_apps_lookup_builder_add(
        b: *mut nipc_apps_lookup_builder_t,
        item: *const nipc_apps_lookup_item_t,
        labels: *const nipc_label_t,
    ) -> nipc_error_t;
    pub fn nipc_apps_lookup_builder_exceeded(b: *const nipc_apps_lookup_builder_t) -> bool;

    // transport.h
    pub fn nipc_service_name_valid(name: *const c_char) -> bool;
    pub fn nipc_shm_fault_recover(addr: *mut c_void) -> bool;

    // service.h: client
    pub fn nipc_client_state_name(state: nipc_client_state_t) -> *const c_char;
    pub fn nipc_client_create(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_client_config_t,
        out: *mut *mut nipc_client_t,
    ) -> nipc_error_t;
    pub fn nipc_client_refresh(c: *mut nipc_client_t) -> nipc_error_t;
    pub fn nipc_client_ready(c: *const nipc_client_t) -> bool;
    pub fn nipc_client_state(c: *const nipc_client_t) -> nipc_client_state_t;
    pub fn nipc_client_status(c: *const nipc_client_t, out: *mut nipc_client_status_t);
    pub fn nipc_client_abort(c: *mut nipc_client_t);
    pub fn nipc_client_clear_abort(c: *mut nipc_client_t);
    pub fn nipc_client_close(c: *mut nipc_client_t);
    pub fn nipc_client_free(c: *mut nipc_client_t);
    pub fn nipc_client_increment(
        c: *mut nipc_client_t,
        value: u64,
        out: *mut u64,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_client_increment_batch(
        c: *mut nipc_client_t,
        values: *const u64,
        count: u32,
        out: *mut u64,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_client_string_reverse(
        c: *mut nipc_client_t,
        s: *const c_char,
        len: u32,
        out: *mut nipc_str_t,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_client_cgroups_snapshot(
        c: *mut nipc_client_t,
        out: *mut nipc_cgroups_view_t,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_client_cgroups_lookup(
        c: *mut nipc_client_t,
        paths: *const nipc_str_t,
        n: u32,
        out: *mut nipc_cgroups_lookup_view_t,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_client_apps_lookup(
        c: *mut nipc_client_t,
        pids: *const u32,
        n: u32,
        out: *mut nipc_apps_lookup_view_t,
        timeout_ms: u32,
    ) -> nipc_error_t;

    // service.h: server
    pub fn nipc_server_create_increment(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_server_config_t,
        f: nipc_increment_handler_fn,
        ctx: *mut c_void,
        out: *mut *mut nipc_server_t,
    ) -> nipc_error_t;
    pub fn nipc_server_create_string_reverse(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_server_config_t,
        f: nipc_string_reverse_handler_fn,
        ctx: *mut c_void,
        out: *mut *mut nipc_server_t,
    ) -> nipc_error_t;
    pub fn nipc_server_create_cgroups_snapshot(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_server_config_t,
        f: nipc_cgroups_snapshot_handler_fn,
        ctx: *mut c_void,
        out: *mut *mut nipc_server_t,
    ) -> nipc_error_t;
    pub fn nipc_server_create_cgroups_lookup(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_server_config_t,
        f: nipc_cgroups_lookup_handler_fn,
        ctx: *mut c_void,
        out: *mut *mut nipc_server_t,
    ) -> nipc_error_t;
    pub fn nipc_server_create_apps_lookup(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_server_config_t,
        f: nipc_apps_lookup_handler_fn,
        ctx: *mut c_void,
        out: *mut *mut nipc_server_t,
    ) -> nipc_error_t;
    pub fn nipc_server_start(s: *mut nipc_server_t) -> nipc_error_t;
    pub fn nipc_server_run(s: *mut nipc_server_t) -> nipc_error_t;
    pub fn nipc_server_stop(s: *mut nipc_server_t);
    pub fn nipc_server_join(s: *mut nipc_server_t, timeout_ms: u32) -> nipc_error_t;
    pub fn nipc_server_destroy(s: *mut nipc_server_t);
    pub fn nipc_server_stats(s: *const nipc_server_t, out: *mut nipc_server_stats_t);

    // cache.h
    pub fn nipc_cgroups_cache_create(
        run_dir: *const c_char,
        service: *const c_char,
        config: *const nipc_client_config_t,
        out: *mut *mut nipc_cgroups_cache_t,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_cache_refresh(
        c: *mut nipc_cgroups_cache_t,
        timeout_ms: u32,
    ) -> nipc_error_t;
    pub fn nipc_cgroups_cache_ready(c: *const nipc_cgroups_cache_t) -> bool;
    pub fn nipc_cgroups_cache_read_lock(c: *mut nipc_cgroups_cache_t);
    pub fn nipc_cgroups_cache_read_unlock(c: *mut nipc_cgroups_cache_t);
    pub fn nipc_cgroups_cache_get(
        c: *const nipc_cgroups_cache_t,
        hash: u32,
        name: *const c_char,
        name_len: u32,
    ) -> *const nipc_cgroup_item_t;
    pub fn nipc_cgroups_cache_count(c: *const nipc_cgroups_cache_t) -> u32;
    pub fn nipc_cgroups_cache_item(
        c: *const nipc_cgroups_cache_t,
        index: u32,
    ) -> *const nipc_cgroup_item_t;
    pub fn nipc_cgroups_cache_status(
        c: *const nipc_cgroups_cache_t,
        out: *mut nipc_cgroups_cache_status_t,
    );
    pub fn nipc_cgroups_cache_free(c: *mut nipc_cgroups_cache_t);
}

/// The empty string handed to C for an empty slice: a valid pointer with a
/// NUL after it, as `nipc_str_t` promises.
static EMPTY: [u8; 1] = [0];

/// A `nipc_str_t` borrowing `bytes` for as long as the caller keeps it, or
/// `None` when it is longer than the C API's `uint32_t` lengths allow.
pub fn str_of(bytes: &[u8]) -> Option<nipc_str_t> {
    let len = u32::try_from(bytes.len()).ok()?;
    let ptr = if bytes.is_empty() {
        EMPTY.as_ptr()
    } else {
        bytes.as_ptr()
    };
    Some(nipc_str_t {
        ptr: ptr.cast(),
        len,
    })
}

/// The bytes of a `nipc_str_t` the C library handed out.
///
/// # Safety
/// `s` must come from the C library with the documented contract that
/// `s.len` bytes at `s.ptr` are readable (a NULL pointer is read as empty),
/// and the caller must bound the result by the lifetime the C API gives
/// that memory.
pub unsafe fn bytes_of<'a>(s: nipc_str_t) -> &'a [u8] {
    if s.ptr.is_null() || s.len == 0 {
        &[]
    } else {
        // SAFETY: per this function's contract, `len` bytes at `ptr` are
        // readable and stay unchanged for 'a.
        unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len as usize) }
    }
}

/// A static C string from the library (names and messages: static storage,
/// never NULL, ASCII) as `&'static str`.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string in static storage.
pub unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        return "?";
    }
    // SAFETY: per this function's contract the string is NUL-terminated and
    // static.
    let c = unsafe { std::ffi::CStr::from_ptr(p) };
    c.to_str().unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::mem::{align_of, size_of, MaybeUninit};

    #[repr(C)]
    struct Entry {
        name: *const c_char,
        value: usize,
    }

    extern "C" {
        static nipc_rust_layout: [Entry; 0];
        static nipc_rust_layout_count: usize;
    }

    macro_rules! offset {
        ($t:ident, $f:ident) => {{
            let u = MaybeUninit::<$t>::uninit();
            let base = u.as_ptr();
            // SAFETY: addr_of! computes a field address without reading or
            // creating a reference to the uninitialised value.
            let field = unsafe { std::ptr::addr_of!((*base).$f) };
            (
                concat!(stringify!($t), ".", stringify!($f)).to_string(),
                field as usize - base as usize,
            )
        }};
    }
    macro_rules! layout {
        ($v:ident; $($t:ident { $($f:ident),* })*) => {
            $(
                $v.push((stringify!($t).to_string(), size_of::<$t>()));
                $v.push((concat!(stringify!($t), " align").to_string(), align_of::<$t>()));
                $( $v.push(offset!($t, $f)); )*
            )*
        };
    }

    #[test]
    fn layout_matches_c() {
        let mut rust: Vec<(String, usize)> = Vec::new();
        layout!(rust;
            nipc_str_t { ptr, len }
            nipc_client_config_t { supported_profiles, preferred_profiles,
                max_request_payload_bytes, max_request_batch_items, max_response_payload_bytes,
                max_payload_ceiling, auth_token, call_timeout_ms, shm_attach_timeout_ms,
                max_logical_lookup_items, max_logical_lookup_subcalls,
                max_logical_lookup_response_bytes, allowed_server_uids, allowed_server_uid_count,
                exact_profiles, handshake_timeout_ms }
            nipc_client_status_t { state, last_error, last_connect_error, connect_count,
                reconnect_count, call_count, error_count, selected_profile, max_request_payload,
                max_response_payload }
            nipc_server_config_t { supported_profiles, preferred_profiles,
                max_request_payload_bytes, max_request_batch_items, max_response_payload_bytes,
                auth_token, max_sessions, handshake_timeout_ms, allowed_uids, allowed_uid_count,
                exact_profiles }
            nipc_server_stats_t { sessions_accepted, sessions_rejected, handshakes_failed,
                requests, request_errors, sessions_active }
            nipc_cgroups_builder_t { buf, cap, item_count, added, packed_len, err }
            nipc_cgroups_view_t { payload, len, item_count, systemd_enabled, generation }
            nipc_cgroup_item_t { hash, options, enabled, name, path }
            nipc_label_t { key, value }
            nipc_lookup_labels_t { item, table, count }
            nipc_cgroups_lookup_req_t { payload, len, item_count }
            nipc_cgroups_lookup_item_t { status, orchestrator, path, name, labels }
            nipc_cgroups_lookup_view_t { payload, len, item_count, generation }
            nipc_apps_lookup_req_t { payload, len, item_count }
            nipc_apps_lookup_item_t { status, orchestrator, cgroup_status, pid, ppid, uid,
                starttime, comm, cgroup_path, cgroup_name, labels }
            nipc_apps_lookup_view_t { payload, len, item_count, generation }
            nipc_cgroups_cache_status_t { populated, item_count, systemd_enabled, generation,
                refresh_success_count, refresh_failure_count, last_refresh_ms, last_error,
                client_state }
        );
        rust.push(("nipc_error_t".to_string(), size_of::<nipc_error_t>()));
        rust.push((
            "nipc_client_state_t".to_string(),
            size_of::<nipc_client_state_t>(),
        ));

        // SAFETY: csrc/layout.c defines nipc_rust_layout with
        // nipc_rust_layout_count entries of {static string, size_t}.
        let c: Vec<(String, usize)> = unsafe {
            let n = nipc_rust_layout_count;
            std::slice::from_raw_parts(nipc_rust_layout.as_ptr(), n)
                .iter()
                .map(|e| {
                    (
                        CStr::from_ptr(e.name).to_string_lossy().into_owned(),
                        e.value,
                    )
                })
                .collect()
        };
        assert_eq!(
            c.len(),
            rust.len(),
            "csrc/layout.c and this test list different fields"
        );
        for ((cn, cv), (rn, rv)) in c.iter().zip(rust.iter()) {
            assert_eq!(
                cn, rn,
                "csrc/layout.c and this test list fields in another order"
            );
            assert_eq!(cv, rv, "{}: C says {}, Rust says {}", cn, cv, rv);
        }
    }
}
