//! Level 2 client: typed calls, connection state, abort handles.
use std::ffi::CString;
use std::fmt;
use std::mem::MaybeUninit;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{millis, ClientConfig, Profiles};
use crate::error::{check, Error, ErrorKind, Result};
use crate::ffi;
use crate::lookup::{AppsLookup, CgroupsLookup};
use crate::snapshot::CgroupsSnapshot;

/// A C string of a path or name for the C API; NUL inside is an argument error.
pub(crate) fn c_string(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| ErrorKind::InvalidArgument.into())
}

#[cfg(unix)]
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    c_string(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    let s = path.to_str().ok_or(ErrorKind::InvalidArgument)?;
    c_string(s.as_bytes())
}

/// State of a client (`nipc_client_state_t`).
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// let mut client = netipc::Client::new(dir.path(), "nobody-serves-this", &netipc::ClientConfig::new())?;
/// assert_eq!(client.state(), netipc::ClientState::Disconnected);
/// assert_eq!(client.refresh().unwrap_err().kind(), netipc::ErrorKind::NotFound);
/// assert_eq!(client.state(), netipc::ClientState::NotFound);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientState {
    /// Initial; also after [`Client::close`] and most connect failures.
    Disconnected,
    /// Only observable while a refresh runs on another thread.
    Connecting,
    /// Connected: calls are allowed.
    Ready,
    /// No provider listens: a normal state, retry with [`Client::refresh`].
    NotFound,
    /// The server rejected the token; sticky until [`Client::close`].
    AuthFailed,
    /// No common profile or protocol; sticky until [`Client::close`].
    Incompatible,
    /// A call failed; [`Client::refresh`] reconnects.
    Broken,
    /// A value this crate does not know (a newer C library).
    Unknown(u32),
}

impl ClientState {
    pub(crate) fn from_raw(raw: ffi::nipc_client_state_t) -> ClientState {
        match raw {
            0 => ClientState::Disconnected,
            1 => ClientState::Connecting,
            2 => ClientState::Ready,
            3 => ClientState::NotFound,
            4 => ClientState::AuthFailed,
            5 => ClientState::Incompatible,
            6 => ClientState::Broken,
            other => ClientState::Unknown(other),
        }
    }

    fn to_raw(self) -> ffi::nipc_client_state_t {
        match self {
            ClientState::Disconnected => 0,
            ClientState::Connecting => 1,
            ClientState::Ready => 2,
            ClientState::NotFound => 3,
            ClientState::AuthFailed => 4,
            ClientState::Incompatible => 5,
            ClientState::Broken => 6,
            ClientState::Unknown(v) => v,
        }
    }

    /// The C library's name of the state (`"READY"`).
    ///
    /// ```
    /// assert_eq!(netipc::ClientState::Ready.name(), "READY");
    /// ```
    pub fn name(self) -> &'static str {
        // SAFETY: nipc_client_state_name returns a static string for any value.
        unsafe { ffi::static_str(ffi::nipc_client_state_name(self.to_raw())) }
    }
}

/// A client's state and counters, and what its current session agreed
/// (`nipc_client_status_t`).
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
/// client.increment(1)?;
/// let st = client.status();
/// assert_eq!(st.state, netipc::ClientState::Ready);
/// assert_eq!((st.connect_count, st.call_count), (1, 1));
/// assert_eq!(st.selected_profile, netipc::Profiles::BASELINE);
/// assert_eq!(st.max_request_payload, 1024);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStatus {
    /// Current state.
    pub state: ClientState,
    /// Why the last connect or call failed, if one did.
    pub last_error: Option<ErrorKind>,
    /// Why the last connect attempt failed (`None` once connected).
    pub last_connect_error: Option<ErrorKind>,
    /// Successful first connections.
    pub connect_count: u64,
    /// Successful reconnections.
    pub reconnect_count: u64,
    /// Successful calls (lookup sub-calls each count).
    pub call_count: u64,
    /// Failed calls.
    pub error_count: u64,
    /// The transport profile of the current session; empty without one.
    pub selected_profile: Profiles,
    /// Agreed request payload limit in bytes; 0 without a session.
    pub max_request_payload: u32,
    /// Agreed response payload limit in bytes; 0 without a session.
    pub max_response_payload: u32,
}

/// The allocation behind a [`Client`] and its [`AbortHandle`]s: freed when
/// the last of them is gone.
struct RawClient(NonNull<ffi::nipc_client_t>);

// SAFETY: a nipc_client_t has no thread affinity (no thread-local state is
// kept between calls), so it may move between threads.
unsafe impl Send for RawClient {}
// SAFETY: shared references to RawClient are used only for the functions
// service.h documents as safe from any thread: nipc_client_abort(),
// nipc_client_clear_abort(), nipc_client_ready() and nipc_client_state().
// Everything else goes through `Client`, which requires `&mut` for calls,
// refresh and close, so one call at a time is enforced by the borrow checker.
unsafe impl Sync for RawClient {}

impl Drop for RawClient {
    fn drop(&mut self) {
        // SAFETY: the pointer came from nipc_client_create(); this is the
        // last owner (Arc), so nobody uses it after this.
        unsafe { ffi::nipc_client_free(self.0.as_ptr()) }
    }
}

/// A typed client for one service in a run directory (`nipc_client_t`).
///
/// Creating a client does not connect. Call [`refresh`](Self::refresh)
/// from your loop to connect and reconnect: [`ErrorKind::NotFound`] (no
/// provider yet) is a normal outcome. Calls are at-least-once: after a
/// transport failure the client reconnects and sends the request once more.
///
/// Calls take `&mut self` (one call at a time, as the C library requires)
/// and the views they return borrow the client, so they cannot be used
/// after the next call. Use one client per thread; an [`AbortHandle`]
/// cancels a blocked call from another thread.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{Client, ClientConfig, Server, ServerConfig};
/// let server = Server::increment(dir.path(), "increment", &ServerConfig::new(), |v| Ok(v + 1))?;
/// server.start()?;
///
/// let mut client = Client::new(dir.path(), "increment", &ClientConfig::new())?;
/// client.refresh()?;
/// assert_eq!(client.increment(41)?, 42);
/// # Ok::<(), netipc::Error>(())
/// ```
///
/// The client is not `Sync`: share it between threads through a mutex, or
/// better, give each thread its own.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// # fn f(client: &netipc::Client) {
/// share(client);
/// # }
/// ```
pub struct Client {
    raw: Arc<RawClient>,
    timeout_ms: u32,
    /// Scratch array of `nipc_str_t` keys for cgroups lookups, reused so
    /// steady-state lookups do not allocate; empty between calls.
    keys: Vec<ffi::nipc_str_t>,
    /// `Client` is deliberately not `Sync` (status() reads fields a call on
    /// another thread writes); this marker opts out of the auto trait.
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

// SAFETY: the client may move to another thread (RawClient: Send); the
// `keys` scratch holds no pointers between calls (it is cleared after each
// lookup), so moving it moves nothing borrowed.
unsafe impl Send for Client {}

impl Client {
    /// Creates a client for `service` in `run_dir`. Never connects.
    /// Errors: [`ErrorKind::BadServiceName`], [`ErrorKind::InvalidArgument`]
    /// (an empty run dir, a NUL in a name, an allow-list problem),
    /// [`ErrorKind::NoMemory`].
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let client = netipc::Client::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// assert!(!client.is_ready());
    /// assert_eq!(netipc::Client::new(dir.path(), "..", &netipc::ClientConfig::new()).unwrap_err().kind(),
    ///            netipc::ErrorKind::BadServiceName);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: &ClientConfig) -> Result<Client> {
        let dir = c_path(run_dir.as_ref())?;
        let service =
            c_string(service.as_bytes()).map_err(|_| Error::from(ErrorKind::BadServiceName))?;
        let raw_config = config.to_raw();
        let mut out: *mut ffi::nipc_client_t = std::ptr::null_mut();
        // SAFETY: the strings are NUL-terminated and live for the call;
        // the config (and the uid list it points to, owned by `config`) is
        // read during the call only: the C library copies what it keeps.
        check(unsafe {
            ffi::nipc_client_create(dir.as_ptr(), service.as_ptr(), &raw_config, &mut out)
        })?;
        let raw = NonNull::new(out).ok_or(ErrorKind::NoMemory)?;
        Ok(Client {
            raw: Arc::new(RawClient(raw)),
            timeout_ms: 0,
            keys: Vec::new(),
            _not_sync: std::marker::PhantomData,
        })
    }

    fn ptr(&self) -> *mut ffi::nipc_client_t {
        self.raw.0.as_ptr()
    }

    /// Connects if needed: `Ok` when the client is ready afterwards, else
    /// why not ([`ErrorKind::NotFound`] when no provider listens, `Busy`,
    /// `Timeout`, `AuthFailed` and `Incompatible` until [`close`](Self::close),
    /// ...). Blocks for at most one connect, handshake and SHM attach.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let _server = netipc::__doc::increment_server(dir.path())?;
    /// let mut client = netipc::Client::new(dir.path(), "increment", &netipc::ClientConfig::new())?;
    /// client.refresh()?;
    /// assert!(client.is_ready());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn refresh(&mut self) -> Result<()> {
        // SAFETY: a valid client; &mut self means no other call runs on it.
        check(unsafe { ffi::nipc_client_refresh(self.ptr()) })
    }

    /// True when connected ([`ClientState::Ready`]).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let client = netipc::Client::new(dir.path(), "increment", &netipc::ClientConfig::new())?;
    /// assert!(!client.is_ready());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_ready(&self) -> bool {
        // SAFETY: a valid client; nipc_client_ready is safe from any thread.
        unsafe { ffi::nipc_client_ready(self.ptr()) }
    }

    /// The current state.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let client = netipc::Client::new(dir.path(), "increment", &netipc::ClientConfig::new())?;
    /// assert_eq!(client.state(), netipc::ClientState::Disconnected);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn state(&self) -> ClientState {
        // SAFETY: a valid client; nipc_client_state is safe from any thread.
        ClientState::from_raw(unsafe { ffi::nipc_client_state(self.ptr()) })
    }

    /// State, counters and what the current session agreed (profile and
    /// payload limits): the session info.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// let st = client.status();
    /// assert_eq!(st.connect_count, 1);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn status(&self) -> ClientStatus {
        let mut s = MaybeUninit::<ffi::nipc_client_status_t>::uninit();
        // SAFETY: a valid client; no call runs concurrently (calls need
        // &mut self and Client is not Sync); the function fills *s.
        let s = unsafe {
            ffi::nipc_client_status(self.ptr(), s.as_mut_ptr());
            s.assume_init()
        };
        ClientStatus {
            state: ClientState::from_raw(s.state),
            last_error: ErrorKind::from_code(s.last_error),
            last_connect_error: ErrorKind::from_code(s.last_connect_error),
            connect_count: s.connect_count,
            reconnect_count: s.reconnect_count,
            call_count: s.call_count,
            error_count: s.error_count,
            selected_profile: Profiles::from_bits(s.selected_profile),
            max_request_payload: s.max_request_payload,
            max_response_payload: s.max_response_payload,
        }
    }

    /// A handle that aborts this client's calls from any thread.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// let abort = client.abort_handle();
    /// abort.abort();
    /// assert_eq!(client.increment(1).unwrap_err().kind(), netipc::ErrorKind::Aborted);
    /// client.clear_abort();
    /// assert_eq!(client.increment(1)?, 2);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            raw: Arc::clone(&self.raw),
        }
    }

    /// Clears an abort: later calls run again.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// client.abort_handle().abort();
    /// client.clear_abort();
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn clear_abort(&self) {
        // SAFETY: a valid client; nipc_client_clear_abort is thread-safe.
        unsafe { ffi::nipc_client_clear_abort(self.ptr()) }
    }

    /// Disconnects and resets: buffers dropped, abort cleared, sticky states
    /// (`AuthFailed`, `Incompatible`) forgotten. The client can be refreshed
    /// again.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// client.close();
    /// assert_eq!(client.state(), netipc::ClientState::Disconnected);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn close(&mut self) {
        // SAFETY: a valid client; &mut self: no call or status() runs; an
        // abort from another thread only touches the thread-safe abort object.
        unsafe { ffi::nipc_client_close(self.ptr()) }
    }

    /// Bounds each later call (reconnect and retry included); `None` goes
    /// back to the configured default ([`ClientConfig::call_timeout`]).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// client.set_call_timeout(Some(std::time::Duration::from_millis(250)));
    /// assert_eq!(client.increment(1)?, 2);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn set_call_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout_ms = timeout.map_or(0, millis);
    }

    /// INCREMENT: the server's answer for `value` (`value + 1` by convention).
    ///
    /// Errors of every call: [`ErrorKind::NotReady`] (call
    /// [`refresh`](Self::refresh)), `Aborted`, `Timeout`, `Overflow`,
    /// `BadResponse`, `RemoteBadEnvelope`, `RemoteInternal` (the handler
    /// failed), `Unsupported` (the endpoint serves another method), and the
    /// transports' own.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// assert_eq!(client.increment(1)?, 2);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn increment(&mut self, value: u64) -> Result<u64> {
        let mut out = 0u64;
        // SAFETY: a valid client, used by this call only (&mut self).
        check(unsafe { ffi::nipc_client_increment(self.ptr(), value, &mut out, self.timeout_ms) })?;
        Ok(out)
    }

    /// INCREMENT batch: `out[i]` answers `values[i]`, in one message.
    /// `values` and `out` must have the same length, at most the
    /// configured [`max_request_batch_items`](ClientConfig::max_request_batch_items)
    /// (else [`ErrorKind::LimitExceeded`], nothing sent).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
    /// let mut out = [0u64; 3];
    /// client.increment_batch(&[1, 2, 3], &mut out)?;
    /// assert_eq!(out, [2, 3, 4]);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn increment_batch(&mut self, values: &[u64], out: &mut [u64]) -> Result<()> {
        if values.len() != out.len() {
            return Err(ErrorKind::InvalidArgument.into());
        }
        let n = u32::try_from(values.len()).map_err(|_| ErrorKind::LimitExceeded)?;
        // SAFETY: `values` and `out` hold n elements each; the client is
        // used by this call only.
        check(unsafe {
            ffi::nipc_client_increment_batch(
                self.ptr(),
                values.as_ptr(),
                n,
                out.as_mut_ptr(),
                self.timeout_ms,
            )
        })
    }

    /// STRING_REVERSE: the server's answer for `s`, borrowing the client's
    /// buffer until the next call.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::reverse_pair(dir.path())?;
    /// assert_eq!(client.string_reverse(b"abc")?, b"cba");
    /// # Ok::<(), netipc::Error>(())
    /// ```
    ///
    /// ```compile_fail
    /// # fn f(client: &mut netipc::Client) -> netipc::Result<()> {
    /// let first = client.string_reverse(b"abc")?;
    /// let second = client.string_reverse(b"def")?; // `first` is still alive
    /// assert_ne!(first, second);
    /// # Ok(()) }
    /// ```
    pub fn string_reverse(&mut self, s: &[u8]) -> Result<&[u8]> {
        let input = ffi::str_of(s).ok_or(ErrorKind::Overflow)?;
        let mut out = MaybeUninit::<ffi::nipc_str_t>::uninit();
        // SAFETY: `input` covers s.len() readable bytes; the client is used
        // by this call only; *out is written on OK.
        check(unsafe {
            ffi::nipc_client_string_reverse(
                self.ptr(),
                input.ptr,
                input.len,
                out.as_mut_ptr(),
                self.timeout_ms,
            )
        })?;
        // SAFETY: on OK *out views the client's buffer, valid until the next
        // call on it, which needs &mut self: the returned borrow of self
        // ends first.
        Ok(unsafe { ffi::bytes_of(out.assume_init()) })
    }

    /// CGROUPS_SNAPSHOT: a zero-copy view of the provider's snapshot, valid
    /// until the next call on this client.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 2)?;
    /// let snap = client.cgroups_snapshot()?;
    /// for item in &snap {
    ///     let item = item?;
    ///     println!("{} {}", item.name_lossy(), item.enabled);
    /// }
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn cgroups_snapshot(&mut self) -> Result<CgroupsSnapshot<'_>> {
        let mut view = MaybeUninit::<ffi::nipc_cgroups_view_t>::uninit();
        // SAFETY: the client is used by this call only; *view is written on OK.
        check(unsafe {
            ffi::nipc_client_cgroups_snapshot(self.ptr(), view.as_mut_ptr(), self.timeout_ms)
        })?;
        // SAFETY: on OK the view is decoded and points into the client's
        // buffer, valid until the next call, close or free, each of which
        // needs &mut self or ownership: the view borrows self until then.
        Ok(unsafe { CgroupsSnapshot::from_raw(view.assume_init()) })
    }

    /// CGROUPS_LOOKUP: one answer per path, in order, from one logical call
    /// that the library splits and stitches as the negotiated sizes need.
    /// Errors besides those of every call: `BadField` (an empty path),
    /// `EmbeddedNul`, `Overflow` (beyond the lookup limits),
    /// `GenerationChanged` (the provider's data changed between parts:
    /// call again).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// let v = client.cgroups_lookup(&["/system.slice/nginx.service", "/gone.scope"])?;
    /// assert_eq!(v.get(0).unwrap().status, netipc::CgroupLookupStatus::KNOWN);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn cgroups_lookup<P: AsRef<[u8]>>(&mut self, paths: &[P]) -> Result<CgroupsLookup<'_>> {
        let n = u32::try_from(paths.len()).map_err(|_| ErrorKind::Overflow)?;
        self.keys.clear();
        for p in paths {
            match ffi::str_of(p.as_ref()) {
                Some(s) => self.keys.push(s),
                None => {
                    self.keys.clear();
                    return Err(ErrorKind::Overflow.into());
                }
            }
        }
        let mut view = MaybeUninit::<ffi::nipc_cgroups_lookup_view_t>::uninit();
        // SAFETY: `keys` holds n nipc_str_t pointing into `paths`, alive for
        // this call; the client is used by this call only; *view is
        // written on OK.
        let err = unsafe {
            ffi::nipc_client_cgroups_lookup(
                self.ptr(),
                self.keys.as_ptr(),
                n,
                view.as_mut_ptr(),
                self.timeout_ms,
            )
        };
        self.keys.clear();
        check(err)?;
        // SAFETY: on OK the response was validated and lives in the client's
        // buffer until the next call, close or free (all need &mut self).
        Ok(unsafe { CgroupsLookup::from_raw(view.assume_init()) })
    }

    /// APPS_LOOKUP: one answer per PID, in order (see
    /// [`cgroups_lookup`](Self::cgroups_lookup) for the rules).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// let v = client.apps_lookup(&[4242, 999_999])?;
    /// assert_eq!(v.get(0).unwrap().comm, b"nginx");
    /// assert_eq!(v.get(1).unwrap().status, netipc::AppStatus::UNKNOWN);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn apps_lookup(&mut self, pids: &[u32]) -> Result<AppsLookup<'_>> {
        let n = u32::try_from(pids.len()).map_err(|_| ErrorKind::Overflow)?;
        let mut view = MaybeUninit::<ffi::nipc_apps_lookup_view_t>::uninit();
        // SAFETY: `pids` holds n readable u32; the client is used by this
        // call only; *view is written on OK.
        check(unsafe {
            ffi::nipc_client_apps_lookup(
                self.ptr(),
                pids.as_ptr(),
                n,
                view.as_mut_ptr(),
                self.timeout_ms,
            )
        })?;
        // SAFETY: as for cgroups_lookup.
        Ok(unsafe { AppsLookup::from_raw(view.assume_init()) })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Disconnect now even if an AbortHandle keeps the allocation alive;
        // RawClient frees it when the last owner goes.
        self.close();
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state())
            .field("call_timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Aborts a [`Client`]'s calls from any thread (or a signal handler's
/// thread of choice): the current call and every later one fail with
/// [`ErrorKind::Aborted`] until [`Client::clear_abort`] or
/// [`Client::close`]. A blocked call wakes within 2 ms on UDS and 100 ms
/// over SHM. The handle keeps the C client's memory alive, so it stays
/// valid after the client is dropped (aborting then does nothing useful).
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::increment_pair(dir.path())?;
/// let abort = client.abort_handle();
/// let t = std::thread::spawn(move || abort.abort());
/// t.join().unwrap();
/// assert_eq!(client.increment(1).unwrap_err().kind(), netipc::ErrorKind::Aborted);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    raw: Arc<RawClient>,
}

impl AbortHandle {
    /// Makes the current and every later call of the client fail with
    /// [`ErrorKind::Aborted`].
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let client = netipc::Client::new(dir.path(), "x", &netipc::ClientConfig::new())?;
    /// client.abort_handle().abort();
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn abort(&self) {
        // SAFETY: the allocation is alive (we own an Arc of it);
        // nipc_client_abort is thread-safe and async-signal-safe.
        unsafe { ffi::nipc_client_abort(self.raw.0.as_ptr()) }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").finish_non_exhaustive()
    }
}
