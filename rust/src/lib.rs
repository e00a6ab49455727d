//! Safe Rust binding of **netipc**, the hardened C library for local IPC
//! between Netdata plugins.
//!
//! One audited core: every parser, transport and state machine is the C
//! library's (fuzzed and sanitizer-tested); this crate gives it an API that
//! feels like Rust:
//!
//! - [`Client`]: typed calls for every service kind (INCREMENT and its
//!   batches, STRING_REVERSE, CGROUPS_SNAPSHOT, CGROUPS_LOOKUP,
//!   APPS_LOOKUP), with zero-copy results whose borrows end at the next
//!   call, an [`AbortHandle`] usable from any thread, and [`ClientStatus`]
//!   for what the session agreed.
//! - [`Server`]: a managed server per service kind whose handler is a
//!   closure (`Fn + Send + Sync`), run concurrently on session threads.
//! - [`CgroupsCache`]: the Level 3 snapshot cache, read through an RAII
//!   [`CacheReadGuard`] that nothing read through it can outlive.
//! - [`Error`]: every failure, with the C library's status ([`ErrorKind`],
//!   generated from its single error list).
//!
//! A provider and a consumer in one program:
//!
//! ```
//! # let dir = netipc::__doc::RunDir::new();
//! # let run_dir = dir.path();
//! use netipc::{CgroupItem, CgroupsCache, ClientConfig, Profiles, Server, ServerConfig};
//!
//! // Provider: serves the cgroups snapshot over the socket or shared memory.
//! let config = ServerConfig::new().profiles(Profiles::BASELINE | Profiles::SHM_HYBRID);
//! let server = Server::cgroups_snapshot(run_dir, "cgroups-snapshot", &config, |reply| {
//!     reply.begin(1, 1, 1);
//!     reply.add(&CgroupItem::new(b"system.slice/nginx.service",
//!                                b"/sys/fs/cgroup/system.slice/nginx.service"))
//! })?;
//! server.start()?;
//!
//! // Consumer: a cache refreshed from its own loop, looked up without I/O.
//! let config = ClientConfig::new().profiles(Profiles::BASELINE | Profiles::SHM_HYBRID);
//! let cache = CgroupsCache::new(run_dir, "cgroups-snapshot", &config)?;
//! cache.refresh()?;
//! let guard = cache.read();
//! let nginx = guard.get_by_name(b"system.slice/nginx.service").expect("in the snapshot");
//! assert_eq!(nginx.enabled, 1);
//! # Ok::<(), netipc::Error>(())
//! ```
//!
//! See `docs/rust.md` in the repository for a guide and the argument why
//! the binding is safe.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod cache;
mod client;
mod config;
mod error;
mod ffi;
mod lookup;
mod server;
mod snapshot;

pub use cache::{CacheIter, CacheReadGuard, CacheStatus, CgroupsCache};
pub use client::{AbortHandle, Client, ClientState, ClientStatus};
pub use config::{ClientConfig, Profiles, ServerConfig};
pub use error::{Error, ErrorKind, Result};
pub use lookup::{
    AppCgroupStatus, AppLookupAnswer, AppLookupItem, AppStatus, AppsLookup, AppsLookupIter,
    AppsLookupReply, AppsLookupRequest, CgroupLookupAnswer, CgroupLookupItem, CgroupLookupStatus,
    CgroupsLookup, CgroupsLookupIter, CgroupsLookupReply, CgroupsLookupRequest, Label, LabelIter,
    Labels, Orchestrator, UID_UNSET,
};
pub use server::{Server, ServerStats};
pub use snapshot::{djb2, CgroupItem, CgroupsSnapshot, SnapshotIter, SnapshotReply};

// The examples of docs/rust.md compile as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/rust.md")]
struct RustGuideExamples;

/// True when `name` is a valid service name: `[A-Za-z0-9._-]+`, not `.`
/// or `..`.
///
/// ```
/// assert!(netipc::service_name_valid("cgroups-snapshot"));
/// assert!(!netipc::service_name_valid("a/b"));
/// assert!(!netipc::service_name_valid(".."));
/// ```
pub fn service_name_valid(name: &str) -> bool {
    match std::ffi::CString::new(name) {
        // SAFETY: a NUL-terminated string, read during the call.
        Ok(c) => unsafe { ffi::nipc_service_name_valid(c.as_ptr()) },
        Err(_) => false,
    }
}

/// For a host that installs its own `SIGBUS` handler after netipc mapped a
/// shared-memory file region (which replaces netipc's own handler): call
/// this first in that handler with the fault address (`si_addr`). `true`
/// means the fault was inside a netipc region, which is now backed by zero
/// pages (return from the handler; the session ends with `SHM_LOST`);
/// `false` means it was not netipc's. Async-signal-safe. Rust programs
/// rarely need it: the standard library installs its `SIGBUS` handler (for
/// stack overflows) before `main`, so netipc's, installed later, comes
/// first and passes every other fault on to it.
///
/// # Safety
/// Call it only from a `SIGBUS` handler, with the faulting address: for an
/// address inside a live region it replaces the whole region with zero
/// pages, under the session that still uses it. (Views never point into
/// shared memory: messages are copied out before they are validated.)
///
/// ```
/// // An address outside every netipc region is left alone.
/// let local = 0u8;
/// let ours = unsafe { netipc::shm_fault_recover(&local as *const u8 as *mut std::os::raw::c_void) };
/// assert!(!ours);
/// ```
pub unsafe fn shm_fault_recover(addr: *mut std::os::raw::c_void) -> bool {
    // SAFETY: the caller calls it from a SIGBUS handler with the fault
    // address (this function's contract), as transport.h prescribes.
    unsafe { ffi::nipc_shm_fault_recover(addr) }
}

/// Helpers of the documentation examples: a private run directory and
/// ready-made servers. Not part of the API.
#[doc(hidden)]
pub mod __doc {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::*;

    /// A fresh directory (mode 0700) under the system temp dir, removed on drop.
    #[derive(Debug)]
    pub struct RunDir(PathBuf);

    impl RunDir {
        /// Creates the directory.
        #[allow(clippy::new_without_default)]
        pub fn new() -> RunDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let base = std::env::temp_dir();
            loop {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let p = base.join(format!("netipc-rs-{}-{}", std::process::id(), n));
                let mut b = std::fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                match b.create(&p) {
                    Ok(()) => return RunDir(p),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => panic!("creating {}: {}", p.display(), e),
                }
            }
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for RunDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn started(server: Server) -> Result<Server> {
        server.start()?;
        Ok(server)
    }

    fn client(dir: &Path, service: &str) -> Result<Client> {
        let mut c = Client::new(dir, service, &ClientConfig::new())?;
        c.refresh()?;
        Ok(c)
    }

    /// A started "increment" server answering v + 1.
    pub fn increment_server(dir: &Path) -> Result<Server> {
        let cfg = ServerConfig::new().max_request_batch_items(64);
        started(Server::increment(dir, "increment", &cfg, |v| {
            Ok(v.wrapping_add(1))
        })?)
    }

    /// increment_server() and a connected client (batches up to 64).
    pub fn increment_pair(dir: &Path) -> Result<(Server, Client)> {
        let s = increment_server(dir)?;
        let mut c = Client::new(
            dir,
            "increment",
            &ClientConfig::new().max_request_batch_items(64),
        )?;
        c.refresh()?;
        Ok((s, c))
    }

    /// A started "reverse" server and a connected client.
    pub fn reverse_pair(dir: &Path) -> Result<(Server, Client)> {
        let s = started(Server::string_reverse(
            dir,
            "reverse",
            &ServerConfig::new(),
            |input, out| {
                let out = out
                    .get_mut(..input.len())
                    .ok_or(ErrorKind::BufferTooSmall)?;
                for (o, i) in out.iter_mut().zip(input.iter().rev()) {
                    *o = *i;
                }
                Ok(input.len())
            },
        )?)?;
        Ok((s, client(dir, "reverse")?))
    }

    /// A started "cgroups-snapshot" server with n items "cgroup-i" at
    /// "/sys/fs/cgroup/cgroup-i" (systemd_enabled 1, generation 1).
    pub fn snapshot_server(dir: &Path, n: u32) -> Result<Server> {
        started(Server::cgroups_snapshot(
            dir,
            "cgroups-snapshot",
            &ServerConfig::new(),
            move |reply| {
                reply.begin(n, 1, 1);
                for i in 0..n {
                    let name = format!("cgroup-{}", i);
                    let path = format!("/sys/fs/cgroup/{}", name);
                    reply.add(&CgroupItem::new(name.as_bytes(), path.as_bytes()))?;
                }
                Ok(())
            },
        )?)
    }

    /// snapshot_server() and a connected client.
    pub fn snapshot_pair(dir: &Path, n: u32) -> Result<(Server, Client)> {
        let s = snapshot_server(dir, n)?;
        Ok((s, client(dir, "cgroups-snapshot")?))
    }

    /// snapshot_server() and a refreshed cache.
    pub fn cache_pair(dir: &Path, n: u32) -> Result<(Server, CgroupsCache)> {
        let s = snapshot_server(dir, n)?;
        let cache = CgroupsCache::new(dir, "cgroups-snapshot", &ClientConfig::new())?;
        cache.refresh()?;
        Ok((s, cache))
    }

    /// A started "cgroups-lookup" server (generation 3) that knows
    /// "/system.slice/nginx.service" (SYSTEMD, "nginx.service",
    /// kind=service) and a connected client.
    pub fn cgroups_lookup_pair(dir: &Path) -> Result<(Server, Client)> {
        let s = started(Server::cgroups_lookup(
            dir,
            "cgroups-lookup",
            &ServerConfig::new(),
            |req, reply| {
                reply.set_generation(3);
                let labels = [Label::new(b"kind", b"service")];
                for path in req.iter() {
                    if path == b"/system.slice/nginx.service" {
                        reply.add(&CgroupLookupAnswer::known(
                            path,
                            Orchestrator::SYSTEMD,
                            b"nginx.service",
                            &labels,
                        ))?;
                    } else {
                        reply.add(&CgroupLookupAnswer::unknown_permanent(path))?;
                    }
                }
                Ok(())
            },
        )?)?;
        Ok((s, client(dir, "cgroups-lookup")?))
    }

    /// A started "apps-lookup" server (generation 5) that knows pid 4242
    /// ("nginx", docker cgroup) and a connected client.
    pub fn apps_lookup_pair(dir: &Path) -> Result<(Server, Client)> {
        let s = started(Server::apps_lookup(
            dir,
            "apps-lookup",
            &ServerConfig::new(),
            |req, reply| {
                reply.set_generation(5);
                let labels = [Label::new(b"image", b"nginx:1.27")];
                for pid in req.iter() {
                    if pid == 4242 {
                        let mut a = AppLookupAnswer::known(pid, 1, 33, 100, b"nginx");
                        a.cgroup_status = AppCgroupStatus::KNOWN;
                        a.orchestrator = Orchestrator::DOCKER;
                        a.cgroup_path = b"/system.slice/docker-abc.scope";
                        a.cgroup_name = b"web";
                        a.labels = &labels;
                        reply.add(&a)?;
                    } else {
                        reply.add(&AppLookupAnswer::unknown(pid))?;
                    }
                }
                Ok(())
            },
        )?)?;
        Ok((s, client(dir, "apps-lookup")?))
    }
}
