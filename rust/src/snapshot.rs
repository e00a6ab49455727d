//! CGROUPS_SNAPSHOT: the zero-copy view a client gets, its items, and the
//! reply a server handler builds.
use std::fmt;
use std::marker::PhantomData;

use crate::error::{check, ErrorKind, Result};
use crate::ffi;

/// Bytes shown as text in `Debug` output (lossy UTF-8).
pub(crate) struct Text<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.0), f)
    }
}

/// The hash providers put in [`CgroupItem::hash`]: djb2 over the name
/// (`nipc_djb2()`), which is what [`CacheReadGuard::get`] expects.
///
/// [`CacheReadGuard::get`]: crate::CacheReadGuard::get
///
/// ```
/// assert_eq!(netipc::djb2(b""), 5381);
/// assert_eq!(netipc::djb2(b"a"), 5381 * 33 + 97);
/// ```
pub fn djb2(bytes: &[u8]) -> u32 {
    // SAFETY: nipc_djb2 reads exactly `len` bytes at `s`, which the slice
    // provides; an empty slice's dangling pointer is never read.
    unsafe { ffi::nipc_djb2(bytes.as_ptr().cast(), bytes.len()) }
}

/// One cgroup of a snapshot: what a server adds with
/// [`SnapshotReply::add`] and what a client reads back, borrowing the
/// snapshot's bytes (names and paths may hold any byte but NUL).
///
/// ```
/// let item = netipc::CgroupItem::new(b"system.slice/nginx.service", b"/sys/fs/cgroup/system.slice/nginx.service");
/// assert_eq!(item.hash, netipc::djb2(b"system.slice/nginx.service"));
/// assert_eq!(item.enabled, 1);
/// assert_eq!(item.name_lossy(), "system.slice/nginx.service");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CgroupItem<'a> {
    /// djb2 of the name, by convention (see [`djb2`]).
    pub hash: u32,
    /// Provider-defined option bits.
    pub options: u32,
    /// 1 when the cgroup is collected, 0 when not.
    pub enabled: u32,
    /// The cgroup's name (without its NUL).
    pub name: &'a [u8],
    /// The cgroup's path (without its NUL).
    pub path: &'a [u8],
}

impl<'a> CgroupItem<'a> {
    /// An enabled item with no options, hashed with [`djb2`].
    ///
    /// ```
    /// let item = netipc::CgroupItem::new(b"init.scope", b"/sys/fs/cgroup/init.scope");
    /// assert_eq!(item.options, 0);
    /// ```
    pub fn new(name: &'a [u8], path: &'a [u8]) -> CgroupItem<'a> {
        CgroupItem {
            hash: djb2(name),
            options: 0,
            enabled: 1,
            name,
            path,
        }
    }

    /// The name as text (invalid UTF-8 replaced).
    ///
    /// ```
    /// let item = netipc::CgroupItem::new(b"a", b"/a");
    /// assert_eq!(item.name_lossy(), "a");
    /// ```
    pub fn name_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.name)
    }

    /// The path as text (invalid UTF-8 replaced).
    ///
    /// ```
    /// let item = netipc::CgroupItem::new(b"a", b"/a");
    /// assert_eq!(item.path_lossy(), "/a");
    /// ```
    pub fn path_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.path)
    }

    /// An item the C library handed out.
    ///
    /// # Safety
    /// The strings of `raw` must stay valid and unchanged for `'a`.
    pub(crate) unsafe fn from_raw(raw: &ffi::nipc_cgroup_item_t) -> CgroupItem<'a> {
        // SAFETY: the caller guarantees the strings live for 'a.
        let (name, path) = unsafe { (ffi::bytes_of(raw.name), ffi::bytes_of(raw.path)) };
        CgroupItem {
            hash: raw.hash,
            options: raw.options,
            enabled: raw.enabled,
            name,
            path,
        }
    }
}

impl fmt::Debug for CgroupItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupItem")
            .field("hash", &self.hash)
            .field("options", &self.options)
            .field("enabled", &self.enabled)
            .field("name", &Text(self.name))
            .field("path", &Text(self.path))
            .finish()
    }
}

/// A snapshot response: a zero-copy view into the client's receive buffer,
/// valid until the next call on that client (the borrow of
/// [`Client::cgroups_snapshot`](crate::Client::cgroups_snapshot) ends there).
///
/// The header and directory were validated by the call; each item is
/// checked as it is read, so [`get`](Self::get) and the iterator return
/// `Result`s.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{CgroupItem, Client, ClientConfig, Server, ServerConfig};
/// let server = Server::cgroups_snapshot(dir.path(), "cgroups-snapshot", &ServerConfig::new(), |reply| {
///     reply.begin(1, 1, 7);
///     reply.add(&CgroupItem::new(b"init.scope", b"/sys/fs/cgroup/init.scope"))
/// })?;
/// server.start()?;
/// let mut client = Client::new(dir.path(), "cgroups-snapshot", &ClientConfig::new())?;
/// client.refresh()?;
/// let snap = client.cgroups_snapshot()?;
/// assert_eq!((snap.len(), snap.generation(), snap.systemd_enabled()), (1, 7, 1));
/// for item in snap.iter() {
///     assert_eq!(item?.name, b"init.scope");
/// }
/// # Ok::<(), netipc::Error>(())
/// ```
///
/// The view cannot outlive the next call on the client:
///
/// ```compile_fail
/// # fn f(client: &mut netipc::Client) -> netipc::Result<()> {
/// let snap = client.cgroups_snapshot()?;
/// client.increment(1)?; // a second call while `snap` is alive
/// println!("{}", snap.len());
/// # Ok(()) }
/// ```
pub struct CgroupsSnapshot<'a> {
    view: ffi::nipc_cgroups_view_t,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: the view is a shared borrow of bytes that nobody changes while 'a
// lasts (the client that owns them is borrowed mutably for 'a), and
// nipc_cgroups_resp_item() only reads them; reading from several threads at
// once is as safe as sharing a &[u8].
unsafe impl Send for CgroupsSnapshot<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for CgroupsSnapshot<'_> {}

impl<'a> CgroupsSnapshot<'a> {
    /// # Safety
    /// `view` must come from a successful decode, its payload valid and
    /// unchanged for `'a`.
    pub(crate) unsafe fn from_raw(view: ffi::nipc_cgroups_view_t) -> CgroupsSnapshot<'a> {
        CgroupsSnapshot {
            view,
            _borrow: PhantomData,
        }
    }

    /// Number of items.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 3)?;
    /// assert_eq!(client.cgroups_snapshot()?.len(), 3);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.view.item_count as usize
    }

    /// True when the snapshot has no items.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 0)?;
    /// assert!(client.cgroups_snapshot()?.is_empty());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.view.item_count == 0
    }

    /// The provider's `systemd_enabled` flag.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 1)?;
    /// assert_eq!(client.cgroups_snapshot()?.systemd_enabled(), 1);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn systemd_enabled(&self) -> u32 {
        self.view.systemd_enabled
    }

    /// The provider's data generation.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 1)?;
    /// assert_eq!(client.cgroups_snapshot()?.generation(), 1);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn generation(&self) -> u64 {
        self.view.generation
    }

    /// Item `index`, validated now. Errors: [`ErrorKind::InvalidArgument`]
    /// past the end, or what the item's bytes violate (`OUT_OF_BOUNDS`,
    /// `MISSING_NUL`, `OVERLAP`, ...).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 2)?;
    /// let snap = client.cgroups_snapshot()?;
    /// assert_eq!(snap.get(1)?.name, b"cgroup-1");
    /// assert_eq!(snap.get(2).unwrap_err().kind(), netipc::ErrorKind::InvalidArgument);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Result<CgroupItem<'a>> {
        let index = u32::try_from(index).map_err(|_| ErrorKind::InvalidArgument)?;
        let mut raw = std::mem::MaybeUninit::<ffi::nipc_cgroup_item_t>::uninit();
        // SAFETY: self.view is a decoded view whose payload lives for 'a;
        // the function writes *raw only when it returns OK.
        check(unsafe { ffi::nipc_cgroups_resp_item(&self.view, index, raw.as_mut_ptr()) })?;
        // SAFETY: OK above means *raw was written; its strings point into
        // the payload, valid for 'a.
        Ok(unsafe { CgroupItem::from_raw(&raw.assume_init()) })
    }

    /// Every item in order, each validated as it is reached.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 3)?;
    /// let snap = client.cgroups_snapshot()?;
    /// let names = snap.iter().map(|i| i.map(|i| i.name_lossy().into_owned()))
    ///     .collect::<netipc::Result<Vec<_>>>()?;
    /// assert_eq!(names, ["cgroup-0", "cgroup-1", "cgroup-2"]);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> SnapshotIter<'_, 'a> {
        SnapshotIter {
            snap: self,
            next: 0,
        }
    }
}

impl fmt::Debug for CgroupsSnapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupsSnapshot")
            .field("len", &self.len())
            .field("systemd_enabled", &self.systemd_enabled())
            .field("generation", &self.generation())
            .finish()
    }
}

impl<'s, 'a> IntoIterator for &'s CgroupsSnapshot<'a> {
    type Item = Result<CgroupItem<'a>>;
    type IntoIter = SnapshotIter<'s, 'a>;
    fn into_iter(self) -> SnapshotIter<'s, 'a> {
        self.iter()
    }
}

/// Iterator over the items of a [`CgroupsSnapshot`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::snapshot_pair(dir.path(), 2)?;
/// let snap = client.cgroups_snapshot()?;
/// let mut it = snap.iter();
/// assert_eq!(it.len(), 2);
/// assert!(it.next().is_some());
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug)]
pub struct SnapshotIter<'s, 'a> {
    snap: &'s CgroupsSnapshot<'a>,
    next: usize,
}

impl<'a> Iterator for SnapshotIter<'_, 'a> {
    type Item = Result<CgroupItem<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.snap.len() {
            return None;
        }
        self.next += 1;
        Some(self.snap.get(self.next - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.snap.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for SnapshotIter<'_, '_> {}

/// The response a snapshot handler builds, straight into the session's
/// response buffer (`nipc_cgroups_builder_t`): [`begin`](Self::begin) with
/// the exact item count, then [`add`](Self::add) each item. A handler that
/// never calls `begin` answers an empty snapshot. When the items do not fit
/// the buffer the handler may stop early and return the error of `add`
/// ([`ErrorKind::BufferTooSmall`]): the client grows its limits and asks
/// again.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{CgroupItem, Server, ServerConfig};
/// let cgroups = vec![("init.scope", "/sys/fs/cgroup/init.scope")];
/// let server = Server::cgroups_snapshot(dir.path(), "cgroups-snapshot", &ServerConfig::new(), move |reply| {
///     reply.begin(cgroups.len() as u32, 1, 42);
///     for (name, path) in &cgroups {
///         reply.add(&CgroupItem::new(name.as_bytes(), path.as_bytes()))?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct SnapshotReply<'b> {
    builder: ffi::nipc_cgroups_builder_t,
    buf: *mut u8,
    cap: usize,
    begun: bool,
    _buf: PhantomData<&'b mut [u8]>,
}

impl<'b> SnapshotReply<'b> {
    /// A reply over the handler's buffer.
    ///
    /// # Safety
    /// `buf` must be writable for `cap` bytes and not used by anyone else
    /// for `'b`.
    pub(crate) unsafe fn new(buf: *mut u8, cap: usize) -> SnapshotReply<'b> {
        let mut reply = SnapshotReply {
            builder: ffi::nipc_cgroups_builder_t {
                buf: std::ptr::null_mut(),
                cap: 0,
                item_count: 0,
                added: 0,
                packed_len: 0,
                err: 0,
            },
            buf,
            cap,
            begun: false,
            _buf: PhantomData,
        };
        reply.begin(0, 0, 0);
        reply.begun = false;
        reply
    }

    /// Starts (or starts over) a response of exactly `item_count` items.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let server = netipc::Server::cgroups_snapshot(dir.path(), "s", &netipc::ServerConfig::new(), |reply| {
    /// reply.begin(0, 1, 5); // an empty snapshot, systemd enabled, generation 5
    /// Ok(())
    /// # })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn begin(&mut self, item_count: u32, systemd_enabled: u32, generation: u64) {
        // SAFETY: self.buf is writable for self.cap bytes for 'b (the
        // contract of new()); the builder only writes inside it.
        unsafe {
            ffi::nipc_cgroups_builder_init(
                &mut self.builder,
                self.buf.cast(),
                self.cap,
                item_count,
                systemd_enabled,
                generation,
            )
        };
        self.begun = true;
    }

    /// Appends the next item. Errors (sticky, so checking only the last
    /// one is enough): [`ErrorKind::BadItemCount`] beyond the count given to
    /// `begin`, [`ErrorKind::BufferTooSmall`] when the response is full,
    /// [`ErrorKind::SizeOverflow`].
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let server = netipc::Server::cgroups_snapshot(dir.path(), "s", &netipc::ServerConfig::new(), |reply| {
    /// reply.begin(1, 0, 1);
    /// reply.add(&netipc::CgroupItem::new(b"a", b"/a"))?;
    /// assert_eq!(reply.add(&netipc::CgroupItem::new(b"b", b"/b")).unwrap_err().kind(),
    ///            netipc::ErrorKind::BadItemCount);
    /// Ok(())
    /// # })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn add(&mut self, item: &CgroupItem<'_>) -> Result<()> {
        if !self.begun {
            self.begin(0, 0, 0);
        }
        let name = ffi::str_of(item.name).ok_or(ErrorKind::SizeOverflow)?;
        let path = ffi::str_of(item.path).ok_or(ErrorKind::SizeOverflow)?;
        // SAFETY: the builder was initialised over the handler's buffer;
        // name and path point to name.len / path.len readable bytes.
        check(unsafe {
            ffi::nipc_cgroups_builder_add(
                &mut self.builder,
                item.hash,
                item.options,
                item.enabled,
                name.ptr,
                name.len,
                path.ptr,
                path.len,
            )
        })
    }

    /// Size of the response buffer in bytes (the agreed response payload).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let server = netipc::Server::cgroups_snapshot(dir.path(), "s", &netipc::ServerConfig::new(), |reply| {
    /// assert!(reply.capacity() > 0);
    /// # Ok(())
    /// # })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Completes the response: its length, or the builder's error.
    pub(crate) fn finish(&mut self) -> std::result::Result<usize, ffi::nipc_error_t> {
        let mut len = 0usize;
        // SAFETY: the builder was initialised over the handler's buffer.
        let err = unsafe { ffi::nipc_cgroups_builder_finish(&mut self.builder, &mut len) };
        if err == ffi::NIPC_OK {
            Ok(len)
        } else {
            Err(err)
        }
    }
}

impl fmt::Debug for SnapshotReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotReply")
            .field("capacity", &self.cap)
            .field("item_count", &self.builder.item_count)
            .field("added", &self.builder.added)
            .finish()
    }
}
