//! Rust rows of the benchmark driver (bench/bench_rust.c): servers and
//! clients written against the `netipc` crate exactly as an application
//! would, doing what the C library rows of bench/bench_lib.c do (same
//! configuration, same data, same checks), so a Rust row against its C row
//! measures what the binding costs. Built as a static library with
//! `NETIPC_LINK=none`: the `nipc_*` symbols come from the driver's own
//! build of the C library.
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netipc::{
    AppCgroupStatus, AppLookupAnswer, AppStatus, CgroupItem, CgroupLookupAnswer,
    CgroupLookupStatus, Client, ClientConfig, Label, Orchestrator, Profiles, Server, ServerConfig,
};

/// `nipc_cgroup_entry_t` of the test corpus (src/corpus/corpus.h).
#[repr(C)]
pub struct BenchEntry {
    name: *const c_char,
    path: *const c_char,
    name_len: u32,
    path_len: u32,
    hash: u32,
    options: u32,
    enabled: u32,
}

/// What bench_rust.c tells a Rust role (keep in sync with bench_rust.c).
#[repr(C)]
pub struct BenchRustSpec {
    kind: u32,
    shm: u32,
    items: u32,
    param: u32,
    request_payload: u32,
    request_batch: u32,
    response_payload: u32,
    auth_token: u64,
    generation: u64,
    systemd_enabled: u32,
    entries: *const BenchEntry,
    entry_count: u32,
    /// Lookup clients: key slot i asks about entry order[i].
    order: *const u32,
}

const KIND_INCREMENT: u32 = 1;
const KIND_BATCH: u32 = 2;
const KIND_SNAPSHOT: u32 = 3;
const KIND_CGROUPS_LOOKUP: u32 = 4;
const KIND_APPS_LOOKUP: u32 = 5;

const CONNECT_WAIT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const LOOKUP_PID_BASE: u32 = 1000;
const LOOKUP_PID_STEP: u32 = 7;
const LOOKUP_SLOTS: usize = 4096;

struct Entry {
    name: Vec<u8>,
    path: Vec<u8>,
    hash: u32,
    options: u32,
    enabled: u32,
}

/// The corpus entries of a spec, copied.
///
/// # Safety
/// `spec.entries` must point to `spec.entry_count` valid entries.
unsafe fn entries(spec: &BenchRustSpec) -> Vec<Entry> {
    if spec.entries.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller's contract.
    let raw = unsafe { std::slice::from_raw_parts(spec.entries, spec.entry_count as usize) };
    raw.iter()
        .map(|e| {
            // SAFETY: corpus strings are valid for their lengths.
            let (name, path) = unsafe {
                (
                    std::slice::from_raw_parts(e.name.cast::<u8>(), e.name_len as usize).to_vec(),
                    std::slice::from_raw_parts(e.path.cast::<u8>(), e.path_len as usize).to_vec(),
                )
            };
            Entry {
                name,
                path,
                hash: e.hash,
                options: e.options,
                enabled: e.enabled,
            }
        })
        .collect()
}

/// # Safety
/// `p` must be a NUL-terminated string.
unsafe fn path_of(p: *const c_char) -> PathBuf {
    // SAFETY: the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    PathBuf::from(s.to_string_lossy().into_owned())
}

/// # Safety
/// `p` must be a NUL-terminated string.
unsafe fn str_of(p: *const c_char) -> String {
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn fail(what: &str, e: impl std::fmt::Display) -> c_int {
    eprintln!("bench (rust): {}: {}", what, e);
    -1
}

fn profiles(spec: &BenchRustSpec) -> (Profiles, Profiles) {
    if spec.shm != 0 {
        (
            Profiles::BASELINE | Profiles::SHM_HYBRID,
            Profiles::SHM_HYBRID,
        )
    } else {
        (Profiles::BASELINE, Profiles::NONE)
    }
}

// ================================================================ servers

/// Open addressing on djb2(path), as bench_lib.c's lookup server has it.
struct PathTable {
    slots: Vec<u32>,
}

impl PathTable {
    fn new(entries: &[Entry]) -> PathTable {
        let mut slots = vec![0u32; LOOKUP_SLOTS];
        for (i, e) in entries.iter().enumerate() {
            let mut h = netipc::djb2(&e.path) as usize;
            while slots[h & (LOOKUP_SLOTS - 1)] != 0 {
                h = h.wrapping_add(1);
            }
            slots[h & (LOOKUP_SLOTS - 1)] = i as u32 + 1;
        }
        PathTable { slots }
    }

    fn find<'e>(&self, entries: &'e [Entry], path: &[u8]) -> Option<&'e Entry> {
        let mut h = netipc::djb2(path) as usize;
        loop {
            let slot = self.slots[h & (LOOKUP_SLOTS - 1)];
            if slot == 0 {
                return None;
            }
            let e = &entries[slot as usize - 1];
            if e.path == path {
                return Some(e);
            }
            h = h.wrapping_add(1);
        }
    }
}

fn index_of_pid(pid: u32, table: u32) -> Option<u32> {
    if pid < LOOKUP_PID_BASE || (pid - LOOKUP_PID_BASE) % LOOKUP_PID_STEP != 0 {
        return None;
    }
    let i = (pid - LOOKUP_PID_BASE) / LOOKUP_PID_STEP;
    if i < table {
        Some(i)
    } else {
        None
    }
}

/// Starts a Rust server for a scenario; 0 or -1.
///
/// # Safety
/// `spec` must be valid (entries included), `run_dir` and `service`
/// NUL-terminated, `state` writable.
#[no_mangle]
pub unsafe extern "C" fn bench_rust_server_start(
    spec: *const BenchRustSpec,
    run_dir: *const c_char,
    service: *const c_char,
    state: *mut *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract.
    let (spec, dir, service) = unsafe { (&*spec, path_of(run_dir), str_of(service)) };
    let (supported, preferred) = profiles(spec);
    let cfg = ServerConfig::new()
        .profiles(supported)
        .preferred_profiles(preferred)
        .max_request_payload(spec.request_payload)
        .max_request_batch_items(spec.request_batch)
        .max_response_payload(spec.response_payload)
        .auth_token(spec.auth_token)
        .max_sessions(4)
        .exact_profiles(true);
    // SAFETY: the caller's contract.
    let entries = unsafe { entries(spec) };
    let generation = spec.generation;
    let systemd = spec.systemd_enabled;
    let server = match spec.kind {
        KIND_INCREMENT | KIND_BATCH => {
            Server::increment(&dir, &service, &cfg, |v| Ok(v.wrapping_add(1)))
        }
        KIND_SNAPSHOT => Server::cgroups_snapshot(&dir, &service, &cfg, move |reply| {
            reply.begin(entries.len() as u32, systemd, generation);
            for e in &entries {
                let item = CgroupItem {
                    hash: e.hash,
                    options: e.options,
                    enabled: e.enabled,
                    name: &e.name,
                    path: &e.path,
                };
                reply.add(&item)?;
            }
            Ok(())
        }),
        KIND_CGROUPS_LOOKUP => {
            let table = PathTable::new(&entries);
            Server::cgroups_lookup(&dir, &service, &cfg, move |req, reply| {
                reply.set_generation(generation);
                for path in req.iter() {
                    let found = if reply.exceeded() {
                        None
                    } else {
                        table.find(&entries, path)
                    };
                    match found {
                        Some(e) => {
                            let labels = [
                                Label::new(b"namespace", b"default"),
                                Label::new(b"container", &e.name),
                            ];
                            reply.add(&CgroupLookupAnswer::known(
                                path,
                                Orchestrator::DOCKER,
                                &e.name,
                                &labels,
                            ))?;
                        }
                        None => reply.add(&CgroupLookupAnswer::unknown_permanent(path))?,
                    }
                }
                Ok(())
            })
        }
        KIND_APPS_LOOKUP => {
            let comm: Vec<String> = (0..entries.len())
                .map(|i| format!("worker-{}", i))
                .collect();
            Server::apps_lookup(&dir, &service, &cfg, move |req, reply| {
                reply.set_generation(generation);
                for pid in req.iter() {
                    let k = if reply.exceeded() {
                        None
                    } else {
                        index_of_pid(pid, entries.len() as u32)
                    };
                    match k {
                        Some(k) => {
                            let e = &entries[k as usize];
                            let mut a = AppLookupAnswer::known(
                                pid,
                                1,
                                1000,
                                100_000 + u64::from(k),
                                comm[k as usize].as_bytes(),
                            );
                            a.orchestrator = Orchestrator::DOCKER;
                            a.cgroup_status = AppCgroupStatus::KNOWN;
                            a.cgroup_path = &e.path;
                            a.cgroup_name = &e.name;
                            reply.add(&a)?;
                        }
                        None => reply.add(&AppLookupAnswer::unknown(pid))?,
                    }
                }
                Ok(())
            })
        }
        other => return fail("server", format!("unknown kind {}", other)),
    };
    let server = match server {
        Ok(s) => s,
        Err(e) => return fail("server create", e),
    };
    if let Err(e) = server.start() {
        return fail("server start", e);
    }
    // SAFETY: the caller's contract: state is writable.
    unsafe { *state = Box::into_raw(Box::new(server)).cast() };
    0
}

/// Requests answered so far.
///
/// # Safety
/// `state` must come from bench_rust_server_start().
#[no_mangle]
pub unsafe extern "C" fn bench_rust_server_requests(state: *mut c_void) -> u64 {
    // SAFETY: the caller's contract: a live Box<Server>.
    let server = unsafe { &*(state as *const Server) };
    server.stats().requests
}

/// Stops and frees the server.
///
/// # Safety
/// `state` must come from bench_rust_server_start(), once.
#[no_mangle]
pub unsafe extern "C" fn bench_rust_server_stop(state: *mut c_void) {
    // SAFETY: the caller's contract: the Box from server_start, dropped once.
    drop(unsafe { Box::from_raw(state as *mut Server) });
}

// ================================================================ clients

struct RustClient {
    client: Client,
    kind: u32,
    items: u32,
    param: u32,
    generation: u64,
    values: Vec<u64>,
    answers: Vec<u64>,
    /// Lookups: key slot i, its entry's name length.
    paths: Vec<Vec<u8>>,
    pids: Vec<u32>,
    name_lens: Vec<usize>,
}

/// Opens a Rust client for a scenario (connects, checks the profile); 0 or -1.
///
/// # Safety
/// As for bench_rust_server_start(); lookup specs also need `order` with
/// `entry_count` indexes.
#[no_mangle]
pub unsafe extern "C" fn bench_rust_client_open(
    spec: *const BenchRustSpec,
    run_dir: *const c_char,
    service: *const c_char,
    state: *mut *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract.
    let (spec, dir, service) = unsafe { (&*spec, path_of(run_dir), str_of(service)) };
    let (supported, preferred) = profiles(spec);
    let cfg = ClientConfig::new()
        .profiles(supported)
        .preferred_profiles(preferred)
        .max_request_payload(spec.request_payload)
        .max_request_batch_items(spec.request_batch)
        .max_response_payload(spec.response_payload)
        .max_payload_ceiling(spec.request_payload.max(spec.response_payload))
        .auth_token(spec.auth_token)
        .call_timeout(CALL_TIMEOUT)
        .exact_profiles(true);
    let mut client = match Client::new(&dir, &service, &cfg) {
        Ok(c) => c,
        Err(e) => return fail("client create", e),
    };
    let deadline = Instant::now() + CONNECT_WAIT;
    while client.refresh().is_err() {
        if Instant::now() >= deadline {
            return fail("connect", format!("{:?}", client.status().last_error));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // A row named SHM must not quietly run on the baseline.
    let want = if spec.shm != 0 {
        Profiles::SHM_HYBRID
    } else {
        Profiles::BASELINE
    };
    if client.status().selected_profile != want {
        return fail(
            "profile",
            format!(
                "selected {:?}, wanted {:?}",
                client.status().selected_profile,
                want
            ),
        );
    }
    // SAFETY: the caller's contract.
    let entries = unsafe { entries(spec) };
    let mut c = RustClient {
        client,
        kind: spec.kind,
        items: spec.items,
        param: spec.param,
        generation: spec.generation,
        values: vec![0; spec.items as usize],
        answers: vec![0; spec.items as usize],
        paths: Vec::new(),
        pids: Vec::new(),
        name_lens: Vec::new(),
    };
    if spec.kind == KIND_CGROUPS_LOOKUP || spec.kind == KIND_APPS_LOOKUP {
        // SAFETY: the caller's contract: order has entry_count indexes.
        let order = unsafe { std::slice::from_raw_parts(spec.order, spec.entry_count as usize) };
        for &k in order {
            let e = &entries[k as usize];
            c.paths.push(e.path.clone());
            c.pids.push(LOOKUP_PID_BASE + k * LOOKUP_PID_STEP);
            c.name_lens.push(e.name.len());
        }
    }
    // SAFETY: the caller's contract: state is writable.
    unsafe { *state = Box::into_raw(Box::new(c)).cast() };
    0
}

impl RustClient {
    fn call(&mut self, seq: u64) -> Result<(), String> {
        match self.kind {
            KIND_INCREMENT => {
                let out = self
                    .client
                    .increment(seq)
                    .map_err(|e| format!("increment: {}", e))?;
                if out != seq + 1 {
                    return Err("increment answer".into());
                }
            }
            KIND_BATCH => {
                for (i, v) in self.values.iter_mut().enumerate() {
                    *v = seq + i as u64;
                }
                self.client
                    .increment_batch(&self.values, &mut self.answers)
                    .map_err(|e| format!("increment batch: {}", e))?;
                for (i, a) in self.answers.iter().enumerate() {
                    if *a != seq + i as u64 + 1 {
                        return Err("batch answer".into());
                    }
                }
            }
            KIND_SNAPSHOT => {
                let snap = self
                    .client
                    .cgroups_snapshot()
                    .map_err(|e| format!("snapshot: {}", e))?;
                if snap.len() != self.param as usize || snap.generation() != self.generation {
                    return Err("snapshot answer".into());
                }
            }
            KIND_CGROUPS_LOOKUP => {
                let n = self.items as usize;
                let first = (seq as usize).wrapping_mul(n) % self.paths.len();
                let v = self
                    .client
                    .cgroups_lookup(&self.paths[first..first + n])
                    .map_err(|e| format!("cgroups lookup: {}", e))?;
                if v.len() != n || v.generation() != self.generation {
                    return Err("cgroups lookup answer".into());
                }
                for (i, it) in v.iter().enumerate() {
                    if it.status != CgroupLookupStatus::KNOWN
                        || it.name.len() != self.name_lens[first + i]
                        || it.labels.len() != 2
                    {
                        return Err("cgroups lookup item".into());
                    }
                }
            }
            KIND_APPS_LOOKUP => {
                let n = self.items as usize;
                let first = (seq as usize).wrapping_mul(n) % self.pids.len();
                let v = self
                    .client
                    .apps_lookup(&self.pids[first..first + n])
                    .map_err(|e| format!("apps lookup: {}", e))?;
                if v.len() != n || v.generation() != self.generation {
                    return Err("apps lookup answer".into());
                }
                for (i, it) in v.iter().enumerate() {
                    if it.status != AppStatus::KNOWN
                        || it.cgroup_name.len() != self.name_lens[first + i]
                    {
                        return Err("apps lookup item".into());
                    }
                }
            }
            other => return Err(format!("unknown kind {}", other)),
        }
        Ok(())
    }
}

/// One call of the scenario, every answer checked; 0 or -1.
///
/// # Safety
/// `state` must come from bench_rust_client_open().
#[no_mangle]
pub unsafe extern "C" fn bench_rust_client_call(state: *mut c_void, seq: u64) -> c_int {
    // SAFETY: the caller's contract: a live Box<RustClient>, used by one
    // thread at a time.
    let c = unsafe { &mut *(state as *mut RustClient) };
    match c.call(seq) {
        Ok(()) => 0,
        Err(e) => fail("call", e),
    }
}

/// Closes and frees the client.
///
/// # Safety
/// `state` must come from bench_rust_client_open(), once.
#[no_mangle]
pub unsafe extern "C" fn bench_rust_client_close(state: *mut c_void) {
    // SAFETY: the caller's contract: the Box from client_open, dropped once.
    drop(unsafe { Box::from_raw(state as *mut RustClient) });
}
