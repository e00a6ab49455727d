//! Level 2 managed server: one service kind, one handler closure, a thread
//! per session.
use std::fmt;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::client::{c_path, c_string};
use crate::config::{millis, ServerConfig};
use crate::error::{check, Error, ErrorKind, Result};
use crate::ffi;
use crate::lookup::{AppsLookupReply, AppsLookupRequest, CgroupsLookupReply, CgroupsLookupRequest};
use crate::snapshot::SnapshotReply;

/// The C code a handler's failure is answered with. `Ok` never reaches here.
fn failure_code(e: &Error) -> ffi::nipc_error_t {
    e.code()
}

/// Runs a handler, turning a panic into a failure: a panic must never
/// unwind into the C library's session thread.
fn guarded(f: impl FnOnce() -> ffi::nipc_error_t) -> ffi::nipc_error_t {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(ErrorKind::HandlerFailed as ffi::nipc_error_t)
}

unsafe extern "C" fn increment_trampoline<F>(
    ctx: *mut c_void,
    value: u64,
    out: *mut u64,
) -> ffi::nipc_error_t
where
    F: Fn(u64) -> Result<u64> + Send + Sync + 'static,
{
    guarded(|| {
        // SAFETY: ctx is the Box<F> leaked by Server::increment, alive until
        // the server is destroyed, which joins every session thread first.
        let f = unsafe { &*(ctx as *const F) };
        match f(value) {
            Ok(v) => {
                // SAFETY: the server passes a valid out pointer.
                unsafe { *out = v };
                ffi::NIPC_OK
            }
            Err(e) => failure_code(&e),
        }
    })
}

unsafe extern "C" fn reverse_trampoline<F>(
    ctx: *mut c_void,
    input: ffi::nipc_str_t,
    out: *mut c_char,
    cap: u32,
    out_len: *mut u32,
) -> ffi::nipc_error_t
where
    F: Fn(&[u8], &mut [u8]) -> Result<usize> + Send + Sync + 'static,
{
    guarded(|| {
        // SAFETY: ctx is the leaked Box<F> (see increment_trampoline).
        let f = unsafe { &*(ctx as *const F) };
        // SAFETY: the server passes the decoded request string, valid during
        // the handler call.
        let input = unsafe { ffi::bytes_of(input) };
        let buf: &mut [u8] = if cap == 0 || out.is_null() {
            &mut []
        } else {
            // SAFETY: the server passes its response buffer, writable for
            // `cap` bytes and used by no one else during the call.
            unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), cap as usize) }
        };
        match f(input, buf) {
            Ok(n) if n <= cap as usize => {
                // SAFETY: the server passes a valid out_len; n <= cap fits u32.
                unsafe { *out_len = n as u32 };
                ffi::NIPC_OK
            }
            Ok(_) => ErrorKind::HandlerFailed as ffi::nipc_error_t,
            Err(e) => failure_code(&e),
        }
    })
}

unsafe extern "C" fn snapshot_trampoline<F>(
    ctx: *mut c_void,
    buf: *mut c_void,
    cap: usize,
    out_len: *mut usize,
) -> ffi::nipc_error_t
where
    F: Fn(&mut SnapshotReply<'_>) -> Result<()> + Send + Sync + 'static,
{
    guarded(|| {
        // SAFETY: ctx is the leaked Box<F> (see increment_trampoline).
        let f = unsafe { &*(ctx as *const F) };
        // SAFETY: buf is the session's response buffer, writable for cap
        // bytes and ours during the call.
        let mut reply = unsafe { SnapshotReply::new(buf.cast(), cap) };
        if let Err(e) = f(&mut reply) {
            return failure_code(&e);
        }
        match reply.finish() {
            Ok(n) => {
                // SAFETY: the server passes a valid out_len.
                unsafe { *out_len = n };
                ffi::NIPC_OK
            }
            Err(code) => code,
        }
    })
}

unsafe extern "C" fn cgroups_lookup_trampoline<F>(
    ctx: *mut c_void,
    req: *const ffi::nipc_cgroups_lookup_req_t,
    b: *mut ffi::nipc_cgroups_lookup_builder_t,
) -> ffi::nipc_error_t
where
    F: Fn(&CgroupsLookupRequest<'_>, &mut CgroupsLookupReply<'_>) -> Result<()>
        + Send
        + Sync
        + 'static,
{
    guarded(|| {
        // SAFETY: ctx is the leaked Box<F> (see increment_trampoline).
        let f = unsafe { &*(ctx as *const F) };
        // SAFETY: the server passes the decoded request and the reply
        // builder over its response buffer, both valid and ours during the
        // call (server_lookup.c).
        let (req, mut reply) =
            unsafe { (CgroupsLookupRequest::new(&*req), CgroupsLookupReply::new(b)) };
        match f(&req, &mut reply) {
            Ok(()) => ffi::NIPC_OK,
            Err(e) => failure_code(&e),
        }
    })
}

unsafe extern "C" fn apps_lookup_trampoline<F>(
    ctx: *mut c_void,
    req: *const ffi::nipc_apps_lookup_req_t,
    b: *mut ffi::nipc_apps_lookup_builder_t,
) -> ffi::nipc_error_t
where
    F: Fn(&AppsLookupRequest<'_>, &mut AppsLookupReply<'_>) -> Result<()> + Send + Sync + 'static,
{
    guarded(|| {
        // SAFETY: ctx is the leaked Box<F> (see increment_trampoline).
        let f = unsafe { &*(ctx as *const F) };
        // SAFETY: as in cgroups_lookup_trampoline.
        let (req, mut reply) = unsafe { (AppsLookupRequest::new(&*req), AppsLookupReply::new(b)) };
        match f(&req, &mut reply) {
            Ok(()) => ffi::NIPC_OK,
            Err(e) => failure_code(&e),
        }
    })
}

/// A handler closure, leaked for the C library's `ctx` and dropped after
/// the server is destroyed.
struct Handler {
    ctx: *mut c_void,
    drop: unsafe fn(*mut c_void),
}

unsafe fn drop_box<F>(ctx: *mut c_void) {
    // SAFETY: ctx came from Box::<F>::into_raw in Handler::new and is
    // dropped exactly once (Handler::drop).
    drop(unsafe { Box::from_raw(ctx as *mut F) })
}

impl Handler {
    fn new<F: Send + Sync + 'static>(f: F) -> Handler {
        Handler {
            ctx: Box::into_raw(Box::new(f)).cast(),
            drop: drop_box::<F>,
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        // SAFETY: Server::drop destroyed the C server (joining every
        // session thread) before this field is dropped, so no one calls
        // the handler any more.
        unsafe { (self.drop)(self.ctx) }
    }
}

/// Counters of a [`Server`] (`nipc_server_stats_t`).
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (mut server, mut client) = netipc::__doc::increment_pair(dir.path())?;
/// client.increment(1)?;
/// drop(client);
/// // Counters move after each response is sent: join for final numbers.
/// server.join(std::time::Duration::from_secs(5))?;
/// let stats = server.stats();
/// assert_eq!((stats.sessions_accepted, stats.requests), (1, 1));
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServerStats {
    /// Handshakes completed.
    pub sessions_accepted: u64,
    /// Clients over the session limit or refused.
    pub sessions_rejected: u64,
    /// Silent, malformed or refused clients.
    pub handshakes_failed: u64,
    /// Requests answered OK.
    pub requests: u64,
    /// Requests answered with an error status.
    pub request_errors: u64,
    /// Sessions open now.
    pub sessions_active: u32,
}

/// A managed server for one service kind (`nipc_server_t`): it listens from
/// creation, serves after [`start`](Self::start) (background threads) or
/// [`run`](Self::run) (on the calling thread), and a thread per session
/// calls the handler. Handlers are closures run concurrently on session
/// threads, hence `Fn + Send + Sync`; a panic in one is caught and
/// answered as a failure (the client sees [`ErrorKind::RemoteInternal`]).
///
/// Dropping the server stops it, waits up to 5 s for sessions to finish
/// their request, removes its socket and SHM files, and frees the handler.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use netipc::{Server, ServerConfig};
///
/// let calls = Arc::new(AtomicU64::new(0));
/// let seen = Arc::clone(&calls);
/// let server = Server::increment(dir.path(), "increment", &ServerConfig::new(), move |v| {
///     seen.fetch_add(1, Ordering::Relaxed);
///     v.checked_add(1).ok_or_else(|| netipc::ErrorKind::SizeOverflow.into())
/// })?;
/// server.start()?;
/// # Ok::<(), netipc::Error>(())
/// ```
///
/// Handlers must be thread-safe:
///
/// ```compile_fail
/// # let dir = netipc::__doc::RunDir::new();
/// let counter = std::rc::Rc::new(std::cell::Cell::new(0u64));
/// let server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), move |v| {
///     counter.set(counter.get() + 1);
///     Ok(v + 1)
/// });
/// ```
pub struct Server {
    raw: NonNull<ffi::nipc_server_t>,
    started: AtomicBool,
    _handler: Handler,
}

// SAFETY: the C server has no thread affinity, and the handler it calls is
// Send + Sync (required by every constructor).
unsafe impl Send for Server {}
// SAFETY: the methods taking &self are safe from any thread: stop() and
// stats() are documented thread-safe (atomics and a listener wake-up); start()
// and run() call the C function at most once, guarded by `started` (an
// atomic swap), so the C library's non-atomic `started` field is written by
// one thread only. join() and drop need &mut self / ownership, so they can
// never overlap run() on another thread.
unsafe impl Sync for Server {}

macro_rules! create {
    ($cfn:ident, $tramp:ident, $dir:expr, $service:expr, $config:expr, $f:expr) => {{
        let dir = c_path($dir.as_ref())?;
        let service =
            c_string($service.as_bytes()).map_err(|_| Error::from(ErrorKind::BadServiceName))?;
        let cfg = $config.to_raw();
        let handler = Handler::new($f);
        let mut out: *mut ffi::nipc_server_t = std::ptr::null_mut();
        // SAFETY: strings and config live for the call (the C library copies
        // what it keeps); the trampoline's type parameter is the closure
        // type `handler.ctx` points to, alive until after destroy.
        check(unsafe {
            ffi::$cfn(
                dir.as_ptr(),
                service.as_ptr(),
                &cfg,
                $tramp::<F>,
                handler.ctx,
                &mut out,
            )
        })?;
        let raw = NonNull::new(out).ok_or(ErrorKind::NoMemory)?;
        Ok(Server {
            raw,
            started: AtomicBool::new(false),
            _handler: handler,
        })
    }};
}

impl Server {
    /// An INCREMENT server: `handler(value)` answers each request (by
    /// convention `value + 1`). A batch request calls it once per item.
    ///
    /// Errors of every constructor: [`ErrorKind::AddressInUse`] (a live
    /// server owns the endpoint), `InsecureDir`, `NotFound` (no run dir),
    /// `BadServiceName`, `PathTooLong`, `InvalidArgument`, `Io`, `NoMemory`.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// let again = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1));
    /// assert_eq!(again.unwrap_err().kind(), netipc::ErrorKind::AddressInUse);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn increment<F>(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ServerConfig,
        handler: F,
    ) -> Result<Server>
    where
        F: Fn(u64) -> Result<u64> + Send + Sync + 'static,
    {
        create!(
            nipc_server_create_increment,
            increment_trampoline,
            run_dir,
            service,
            config,
            handler
        )
    }

    /// A STRING_REVERSE server: `handler(input, out)` writes the answer into
    /// `out` (the session's response buffer) and returns its length; return
    /// [`ErrorKind::BufferTooSmall`] when it does not fit (the client may
    /// grow its limits and ask again).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::string_reverse(dir.path(), "reverse", &netipc::ServerConfig::new(), |input, out| {
    ///     let out = out.get_mut(..input.len()).ok_or(netipc::ErrorKind::BufferTooSmall)?;
    ///     for (o, i) in out.iter_mut().zip(input.iter().rev()) {
    ///         *o = *i;
    ///     }
    ///     Ok(input.len())
    /// })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn string_reverse<F>(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ServerConfig,
        handler: F,
    ) -> Result<Server>
    where
        F: Fn(&[u8], &mut [u8]) -> Result<usize> + Send + Sync + 'static,
    {
        create!(
            nipc_server_create_string_reverse,
            reverse_trampoline,
            run_dir,
            service,
            config,
            handler
        )
    }

    /// A CGROUPS_SNAPSHOT server: `handler(reply)` builds the whole snapshot
    /// (see [`SnapshotReply`]).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::cgroups_snapshot(dir.path(), "cgroups-snapshot", &netipc::ServerConfig::new(), |reply| {
    ///     reply.begin(1, 1, 1);
    ///     reply.add(&netipc::CgroupItem::new(b"init.scope", b"/sys/fs/cgroup/init.scope"))
    /// })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn cgroups_snapshot<F>(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ServerConfig,
        handler: F,
    ) -> Result<Server>
    where
        F: Fn(&mut SnapshotReply<'_>) -> Result<()> + Send + Sync + 'static,
    {
        create!(
            nipc_server_create_cgroups_snapshot,
            snapshot_trampoline,
            run_dir,
            service,
            config,
            handler
        )
    }

    /// A CGROUPS_LOOKUP server: `handler(request, reply)` adds one answer per
    /// key, in order (see [`CgroupsLookupReply`]). An invalid answer or a
    /// short reply is answered `BAD_ENVELOPE`, a failing handler
    /// `INTERNAL_ERROR`.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::cgroups_lookup(dir.path(), "cgroups-lookup", &netipc::ServerConfig::new(), |req, reply| {
    ///     for path in req.iter() {
    ///         reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(path))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn cgroups_lookup<F>(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ServerConfig,
        handler: F,
    ) -> Result<Server>
    where
        F: Fn(&CgroupsLookupRequest<'_>, &mut CgroupsLookupReply<'_>) -> Result<()>
            + Send
            + Sync
            + 'static,
    {
        create!(
            nipc_server_create_cgroups_lookup,
            cgroups_lookup_trampoline,
            run_dir,
            service,
            config,
            handler
        )
    }

    /// An APPS_LOOKUP server: `handler(request, reply)` adds one answer per
    /// PID, in order (see [`AppsLookupReply`]).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::apps_lookup(dir.path(), "apps-lookup", &netipc::ServerConfig::new(), |req, reply| {
    ///     for pid in req.iter() {
    ///         reply.add(&netipc::AppLookupAnswer::unknown(pid))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn apps_lookup<F>(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ServerConfig,
        handler: F,
    ) -> Result<Server>
    where
        F: Fn(&AppsLookupRequest<'_>, &mut AppsLookupReply<'_>) -> Result<()>
            + Send
            + Sync
            + 'static,
    {
        create!(
            nipc_server_create_apps_lookup,
            apps_lookup_trampoline,
            run_dir,
            service,
            config,
            handler
        )
    }

    fn claim_start(&self) -> Result<()> {
        if self.started.swap(true, Ordering::AcqRel) {
            return Err(ErrorKind::InvalidArgument.into());
        }
        Ok(())
    }

    /// Starts the accept thread and returns. A server starts once, by
    /// `start` or `run` (a second time: [`ErrorKind::InvalidArgument`]).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// server.start()?;
    /// assert_eq!(server.start().unwrap_err().kind(), netipc::ErrorKind::InvalidArgument);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn start(&self) -> Result<()> {
        self.claim_start()?;
        // SAFETY: a valid server; claim_start() made this the only start.
        let r = check(unsafe { ffi::nipc_server_start(self.raw.as_ptr()) });
        if r.is_err() {
            self.started.store(false, Ordering::Release);
        }
        r
    }

    /// Runs the accept loop on this thread until [`stop`](Self::stop) is
    /// called from another thread; then returns `Ok`. Call
    /// [`join`](Self::join) afterwards to let sessions finish.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let mut server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// std::thread::scope(|s| -> netipc::Result<()> {
    ///     let runner = s.spawn(|| server.run());
    ///     // ... serve until it is time to stop:
    ///     server.stop();
    ///     runner.join().expect("run panicked")
    /// })?;
    /// server.join(std::time::Duration::from_secs(2))?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn run(&self) -> Result<()> {
        self.claim_start()?;
        // SAFETY: a valid server; claim_start() made this the only start.
        check(unsafe { ffi::nipc_server_run(self.raw.as_ptr()) })
    }

    /// Asks the server to stop accepting and to end sessions after their
    /// current request; returns at once. Safe from any thread.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// server.start()?;
    /// server.stop();
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn stop(&self) {
        // SAFETY: a valid server; nipc_server_stop is thread-safe.
        unsafe { ffi::nipc_server_stop(self.raw.as_ptr()) }
    }

    /// Stops (if not yet) and waits up to `timeout` for in-flight requests,
    /// then closes what remains and joins every thread. `Ok` when all
    /// finished in time, [`ErrorKind::Timeout`] when sessions had to be
    /// forced. Later calls return `Ok`.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let mut server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// server.start()?;
    /// server.join(std::time::Duration::from_secs(2))?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn join(&mut self, timeout: Duration) -> Result<()> {
        // SAFETY: a valid server; &mut self: run() cannot be running.
        check(unsafe { ffi::nipc_server_join(self.raw.as_ptr(), millis(timeout)) })
    }

    /// Counters.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let server = netipc::Server::increment(dir.path(), "increment", &netipc::ServerConfig::new(), |v| Ok(v + 1))?;
    /// assert_eq!(server.stats().requests, 0);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn stats(&self) -> ServerStats {
        let mut s = std::mem::MaybeUninit::<ffi::nipc_server_stats_t>::uninit();
        // SAFETY: a valid server; nipc_server_stats reads atomics and fills *s.
        let s = unsafe {
            ffi::nipc_server_stats(self.raw.as_ptr(), s.as_mut_ptr());
            s.assume_init()
        };
        ServerStats {
            sessions_accepted: s.sessions_accepted,
            sessions_rejected: s.sessions_rejected,
            handshakes_failed: s.handshakes_failed,
            requests: s.requests,
            request_errors: s.request_errors,
            sessions_active: s.sessions_active,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: a valid server, never used again. destroy() joins every
        // thread before it returns, so the handler (dropped after this, as
        // a field) is no longer called.
        unsafe { ffi::nipc_server_destroy(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("started", &self.started.load(Ordering::Relaxed))
            .field("stats", &self.stats())
            .finish()
    }
}
