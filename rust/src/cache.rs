//! Level 3: a local cache of the cgroups snapshot with RAII read guards.
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;
use std::time::Duration;

use crate::client::{c_path, c_string, ClientState};
use crate::config::{millis, ClientConfig};
use crate::error::{check, Error, ErrorKind, Result};
use crate::ffi;
use crate::snapshot::{djb2, CgroupItem};

/// Caches this thread holds a read guard of. The C library forbids nested
/// guards on one thread, and refresh() or status() inside one (both would
/// wait for the guard to close: a deadlock).
// A `const {}` initialiser would suit newer clippy, but clippy 1.63 (Debian
// 12's) misreads it as an interior-mutable const; the plain form suits both.
#[allow(unknown_lints, clippy::missing_const_for_thread_local)]
mod guards {
    use std::cell::RefCell;

    thread_local! {
        pub(super) static GUARDED: RefCell<Vec<usize>> = RefCell::new(Vec::new());
    }
}
use guards::GUARDED;

fn guarded_here(cache: usize) -> bool {
    GUARDED.with(|g| g.borrow().contains(&cache))
}

/// State and counters of a [`CgroupsCache`] (`nipc_cgroups_cache_status_t`).
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 2)?;
/// let st = cache.status();
/// assert!(st.populated);
/// assert_eq!((st.item_count, st.refresh_success_count), (2, 1));
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// A snapshot exists (possibly empty).
    pub populated: bool,
    /// Items in the snapshot.
    pub item_count: u32,
    /// The snapshot's `systemd_enabled` flag.
    pub systemd_enabled: u32,
    /// The snapshot's generation.
    pub generation: u64,
    /// Successful refreshes.
    pub refresh_success_count: u64,
    /// Failed refreshes.
    pub refresh_failure_count: u64,
    /// When the last refresh succeeded (monotonic clock), if ever.
    pub last_refresh: Option<Duration>,
    /// Why the last failed refresh failed.
    pub last_error: Option<ErrorKind>,
    /// State of the cache's client.
    pub client_state: ClientState,
}

/// A local copy of the cgroups snapshot (`nipc_cgroups_cache_t`), refreshed
/// through its own client. A failed refresh keeps the previous copy, so
/// lookups keep working while the provider restarts. Lookups do no I/O.
///
/// Share it between threads (`&CgroupsCache` is `Sync`): one thread
/// refreshes, any number read, each inside a [`CacheReadGuard`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let _server = netipc::__doc::snapshot_server(dir.path(), 3)?;
/// use netipc::{CgroupsCache, ClientConfig};
/// let cache = CgroupsCache::new(dir.path(), "cgroups-snapshot", &ClientConfig::new())?;
/// cache.refresh()?;
/// let guard = cache.read();
/// let item = guard.get_by_name(b"cgroup-1").expect("present");
/// assert_eq!(item.path, b"/sys/fs/cgroup/cgroup-1");
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct CgroupsCache {
    raw: NonNull<ffi::nipc_cgroups_cache_t>,
}

// SAFETY: the C cache has no thread affinity.
unsafe impl Send for CgroupsCache {}
// SAFETY: cache.h: refresh() is safe from any thread (serialised inside),
// ready() and status() are thread-safe, and lookups may run on any number
// of threads inside read guards. The rules it adds (no nested guards, no
// refresh or status inside a guard on the same thread, no free while a
// guard is held) are enforced by CacheReadGuard: a thread-local check and
// the guard's borrow of the cache.
unsafe impl Sync for CgroupsCache {}

impl CgroupsCache {
    /// Creates the cache and its client; connects and fetches nothing.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// assert!(!cache.is_ready());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn new(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: &ClientConfig,
    ) -> Result<CgroupsCache> {
        let dir = c_path(run_dir.as_ref())?;
        let service =
            c_string(service.as_bytes()).map_err(|_| Error::from(ErrorKind::BadServiceName))?;
        let cfg = config.to_raw();
        let mut out: *mut ffi::nipc_cgroups_cache_t = std::ptr::null_mut();
        // SAFETY: the strings and config live for the call; the library
        // copies what it keeps.
        check(unsafe {
            ffi::nipc_cgroups_cache_create(dir.as_ptr(), service.as_ptr(), &cfg, &mut out)
        })?;
        let raw = NonNull::new(out).ok_or(ErrorKind::NoMemory)?;
        Ok(CgroupsCache { raw })
    }

    fn ptr(&self) -> *mut ffi::nipc_cgroups_cache_t {
        self.raw.as_ptr()
    }

    /// Connects if needed and fetches a snapshot with the configured call
    /// timeout; on failure the previous snapshot stays. Safe from any
    /// thread (refreshes are serialised).
    ///
    /// # Panics
    /// When this thread holds a read guard of this cache (the refresh would
    /// wait for that guard forever).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// // No provider yet: NOT_FOUND, and the cache stays empty.
    /// assert_eq!(cache.refresh().unwrap_err().kind(), netipc::ErrorKind::NotFound);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn refresh(&self) -> Result<()> {
        self.refresh_within(None)
    }

    /// [`refresh`](Self::refresh) bounded by `timeout` instead of the
    /// configured call timeout.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let _server = netipc::__doc::snapshot_server(dir.path(), 1)?;
    /// # let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// cache.refresh_within(Some(std::time::Duration::from_secs(2)))?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn refresh_within(&self, timeout: Option<Duration>) -> Result<()> {
        assert!(
            !guarded_here(self.ptr() as usize),
            "CgroupsCache::refresh() inside a read guard of the same cache on this thread would deadlock"
        );
        // SAFETY: a valid cache; refresh is thread-safe, and this thread
        // holds no guard of it (checked above).
        check(unsafe { ffi::nipc_cgroups_cache_refresh(self.ptr(), timeout.map_or(0, millis)) })
    }

    /// True when a snapshot exists ("has data", not "connected").
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 1)?;
    /// assert!(cache.is_ready());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_ready(&self) -> bool {
        // SAFETY: a valid cache; thread-safe.
        unsafe { ffi::nipc_cgroups_cache_ready(self.ptr()) }
    }

    /// Takes a read guard: lookups happen through it, and what they return
    /// borrows it. Cheap; many threads may hold guards at once. While a
    /// refresh waits to publish, new guards wait for it: keep guards short.
    ///
    /// # Panics
    /// When this thread already holds a guard of this cache (the C library
    /// forbids nested guards: they can deadlock against a refresh).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 2)?;
    /// let guard = cache.read();
    /// assert_eq!(guard.len(), 2);
    /// drop(guard); // items borrowed from it are gone too
    /// cache.refresh()?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    ///
    /// Items cannot outlive their guard:
    ///
    /// ```compile_fail
    /// # fn f(cache: &netipc::CgroupsCache) {
    /// let item = {
    ///     let guard = cache.read();
    ///     guard.get_by_name(b"init.scope")
    /// };
    /// println!("{:?}", item);
    /// # }
    /// ```
    ///
    /// Nor the cache be dropped while a guard is alive:
    ///
    /// ```compile_fail
    /// # fn f(cache: netipc::CgroupsCache) {
    /// let guard = cache.read();
    /// drop(cache);
    /// println!("{}", guard.len());
    /// # }
    /// ```
    pub fn read(&self) -> CacheReadGuard<'_> {
        let key = self.ptr() as usize;
        GUARDED.with(|g| {
            let mut g = g.borrow_mut();
            assert!(
                !g.contains(&key),
                "CgroupsCache::read(): this thread already holds a read guard of this cache"
            );
            g.push(key);
        });
        // SAFETY: a valid cache; this thread holds no guard of it (checked
        // above), as the C library requires.
        unsafe { ffi::nipc_cgroups_cache_read_lock(self.ptr()) };
        CacheReadGuard {
            cache: self,
            _not_send: PhantomData,
        }
    }

    /// Counters and state.
    ///
    /// # Panics
    /// When this thread holds a read guard of this cache (status takes one).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// let _ = cache.refresh();
    /// let st = cache.status();
    /// assert_eq!((st.populated, st.refresh_failure_count), (false, 1));
    /// assert_eq!(st.last_error, Some(netipc::ErrorKind::NotFound));
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn status(&self) -> CacheStatus {
        assert!(
            !guarded_here(self.ptr() as usize),
            "CgroupsCache::status() inside a read guard of the same cache on this thread"
        );
        let mut s = std::mem::MaybeUninit::<ffi::nipc_cgroups_cache_status_t>::uninit();
        // SAFETY: a valid cache; thread-safe outside a guard (checked above);
        // the function fills *s.
        let s = unsafe {
            ffi::nipc_cgroups_cache_status(self.ptr(), s.as_mut_ptr());
            s.assume_init()
        };
        CacheStatus {
            populated: s.populated != 0,
            item_count: s.item_count,
            systemd_enabled: s.systemd_enabled,
            generation: s.generation,
            refresh_success_count: s.refresh_success_count,
            refresh_failure_count: s.refresh_failure_count,
            last_refresh: if s.last_refresh_ms == 0 {
                None
            } else {
                Some(Duration::from_millis(s.last_refresh_ms))
            },
            last_error: ErrorKind::from_code(s.last_error),
            client_state: ClientState::from_raw(s.client_state),
        }
    }
}

impl Drop for CgroupsCache {
    fn drop(&mut self) {
        // SAFETY: a valid cache, never used again; no guard can be alive
        // (guards borrow the cache).
        unsafe { ffi::nipc_cgroups_cache_free(self.ptr()) }
    }
}

impl fmt::Debug for CgroupsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupsCache")
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// A read guard of a [`CgroupsCache`]: lookups and the items they return
/// borrow it, so nothing read through it outlives
/// `nipc_cgroups_cache_read_unlock()`, which its `Drop` calls. Not `Send`:
/// the lock belongs to the thread that took it.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 3)?;
/// let guard = cache.read();
/// for item in guard.iter() {
///     println!("{} -> {}", item.name_lossy(), item.path_lossy());
/// }
/// # Ok::<(), netipc::Error>(())
/// ```
///
/// ```compile_fail
/// # fn f(cache: &netipc::CgroupsCache) {
/// fn send<T: Send>(_: T) {}
/// send(cache.read());
/// # }
/// ```
pub struct CacheReadGuard<'c> {
    cache: &'c CgroupsCache,
    /// The lock is released by the thread that took it: not Send.
    _not_send: PhantomData<*const ()>,
}

impl<'c> CacheReadGuard<'c> {
    /// The item with this hash and exactly this name, or `None` (also when
    /// no snapshot exists yet). A probe and a compare, no copy.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 2)?;
    /// let guard = cache.read();
    /// let name = b"cgroup-0";
    /// assert!(guard.get(netipc::djb2(name), name).is_some());
    /// assert!(guard.get(1, name).is_none()); // another hash
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get(&self, hash: u32, name: &[u8]) -> Option<CgroupItem<'_>> {
        let n = ffi::str_of(name)?;
        // SAFETY: the cache is read-locked by this guard; name is readable
        // for n.len bytes. The result, if any, belongs to the cache and
        // stays valid until the unlock in Drop.
        let p = unsafe { ffi::nipc_cgroups_cache_get(self.cache.ptr(), hash, n.ptr, n.len) };
        // SAFETY: a non-NULL result is a valid item whose strings live until
        // unlock; the returned item borrows self, so it cannot outlive it.
        unsafe { p.as_ref().map(|it| CgroupItem::from_raw(it)) }
    }

    /// [`get`](Self::get) with the hash computed as [`djb2`] of the name
    /// (what providers put in the hash).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 2)?;
    /// let guard = cache.read();
    /// assert_eq!(guard.get_by_name(b"cgroup-1").unwrap().name, b"cgroup-1");
    /// assert!(guard.get_by_name(b"nope").is_none());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get_by_name(&self, name: &[u8]) -> Option<CgroupItem<'_>> {
        self.get(djb2(name), name)
    }

    /// Number of items (0 without a snapshot).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 4)?;
    /// assert_eq!(cache.read().len(), 4);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        // SAFETY: the cache is read-locked by this guard.
        unsafe { ffi::nipc_cgroups_cache_count(self.cache.ptr()) as usize }
    }

    /// True without items.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &netipc::ClientConfig::new())?;
    /// assert!(cache.read().is_empty());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `index` in snapshot order, or `None` past the end.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 2)?;
    /// let guard = cache.read();
    /// assert_eq!(guard.item(0).unwrap().name, b"cgroup-0");
    /// assert!(guard.item(2).is_none());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn item(&self, index: usize) -> Option<CgroupItem<'_>> {
        let index = u32::try_from(index).ok()?;
        // SAFETY: the cache is read-locked by this guard; NULL past the end.
        let p = unsafe { ffi::nipc_cgroups_cache_item(self.cache.ptr(), index) };
        // SAFETY: as in get().
        unsafe { p.as_ref().map(|it| CgroupItem::from_raw(it)) }
    }

    /// Every item in snapshot order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 3)?;
    /// let enabled = cache.read().iter().filter(|i| i.enabled == 1).count();
    /// assert_eq!(enabled, 3);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> CacheIter<'_, 'c> {
        CacheIter {
            guard: self,
            next: 0,
            len: self.len(),
        }
    }
}

/// Iterator over the items of a [`CacheReadGuard`], borrowing it.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, cache) = netipc::__doc::cache_pair(dir.path(), 3)?;
/// let guard = cache.read();
/// assert_eq!(guard.iter().len(), 3);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug)]
pub struct CacheIter<'g, 'c> {
    guard: &'g CacheReadGuard<'c>,
    next: usize,
    len: usize,
}

impl<'g> Iterator for CacheIter<'g, '_> {
    type Item = CgroupItem<'g>;
    fn next(&mut self) -> Option<CgroupItem<'g>> {
        if self.next >= self.len {
            return None;
        }
        self.next += 1;
        self.guard.item(self.next - 1)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for CacheIter<'_, '_> {}

impl Drop for CacheReadGuard<'_> {
    fn drop(&mut self) {
        let key = self.cache.ptr() as usize;
        GUARDED.with(|g| g.borrow_mut().retain(|&k| k != key));
        // SAFETY: this guard took the read lock on this thread (it is not
        // Send) and releases it once.
        unsafe { ffi::nipc_cgroups_cache_read_unlock(self.cache.ptr()) }
    }
}

impl fmt::Debug for CacheReadGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheReadGuard")
            .field("len", &self.len())
            .finish()
    }
}
