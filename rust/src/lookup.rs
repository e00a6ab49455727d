//! CGROUPS_LOOKUP and APPS_LOOKUP: the views a client gets, the requests a
//! server handler reads, and the replies it builds.
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::error::{check, ErrorKind, Result};
use crate::ffi;
use crate::snapshot::Text;

macro_rules! raw_u16_type {
    ($(#[$doc:meta])* $name:ident, $namefn:ident, $example:literal, { $($(#[$cdoc:meta])* $c:ident = $v:expr,)* }) => {
        $(#[$doc])*
        ///
        /// Raw `u16` on the wire: values this crate has no constant for are
        /// kept as they are. `Debug` and [`name`](Self::name) give the C
        /// library's name.
        ///
        /// ```
        #[doc = $example]
        /// ```
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u16);

        impl $name {
            $( $(#[$cdoc])* pub const $c: $name = $name($v); )*

            /// The C library's name of this value (`"KNOWN"`); `"?"` for a
            /// value outside the enum.
            ///
            /// ```
            #[doc = $example]
            /// ```
            pub fn name(self) -> &'static str {
                // SAFETY: the C function returns a static string for any value.
                unsafe { ffi::static_str(ffi::$namefn(self.0)) }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", self.name(), self.0)
            }
        }
    };
}

raw_u16_type!(
    /// Status of a CGROUPS_LOOKUP item (`enum nipc_cgroup_lookup_status`).
    CgroupLookupStatus, nipc_cgroup_lookup_status_name,
    "assert_eq!(netipc::CgroupLookupStatus::KNOWN.name(), \"KNOWN\");",
    {
        /// The path is known: orchestrator, name and labels are set.
        KNOWN = 0,
        /// Not known yet; ask again later.
        UNKNOWN_RETRY_LATER = 1,
        /// Never going to be known.
        UNKNOWN_PERMANENT = 2,
        /// Internal to the protocol: never reaches callers of a lookup.
        PAYLOAD_EXCEEDED = 3,
        /// Final: the answer can never fit a response.
        OVERSIZED_ITEM = 4,
    }
);

raw_u16_type!(
    /// Status of an APPS_LOOKUP item (`enum nipc_app_status`).
    AppStatus, nipc_app_status_name,
    "assert_eq!(netipc::AppStatus::UNKNOWN.name(), \"UNKNOWN\");",
    {
        /// The process is known.
        KNOWN = 0,
        /// No such process.
        UNKNOWN = 1,
        /// Internal to the protocol: never reaches callers of a lookup.
        PAYLOAD_EXCEEDED = 2,
        /// Final: the answer can never fit a response.
        OVERSIZED_ITEM = 3,
    }
);

raw_u16_type!(
    /// Cgroup status of a known process (`enum nipc_app_cgroup_status`).
    AppCgroupStatus, nipc_app_cgroup_status_name,
    "assert_eq!(netipc::AppCgroupStatus::HOST_ROOT.name(), \"HOST_ROOT\");",
    {
        /// The process's cgroup is known: path, name, orchestrator, labels.
        KNOWN = 0,
        /// Not known yet (a path or none).
        UNKNOWN_RETRY_LATER = 1,
        /// Never going to be known (the path).
        UNKNOWN_PERMANENT = 2,
        /// The process runs in the host's root cgroup.
        HOST_ROOT = 3,
    }
);

raw_u16_type!(
    /// Who runs a cgroup (`enum nipc_orchestrator`).
    Orchestrator, nipc_orchestrator_name,
    "assert_eq!(netipc::Orchestrator::DOCKER.name(), \"DOCKER\");",
    {
        /// Unknown or not applicable.
        UNKNOWN = 0,
        /// systemd.
        SYSTEMD = 1,
        /// Docker.
        DOCKER = 2,
        /// Kubernetes.
        K8S = 3,
        /// KVM / libvirt.
        KVM = 4,
        /// LXC.
        LXC = 5,
        /// Podman.
        PODMAN = 6,
        /// systemd-nspawn.
        NSPAWN = 7,
    }
);

/// `uid` of an app item that is not known (`NIPC_UID_UNSET`).
///
/// ```
/// assert_eq!(netipc::UID_UNSET, u32::MAX);
/// ```
pub const UID_UNSET: u32 = 0xFFFF_FFFF;

/// One label: a non-empty key and a (possibly empty) value, without NULs.
/// Read from a lookup item's [`Labels`], or given to a reply in an answer.
///
/// ```
/// let l = netipc::Label::new(b"image", b"nginx:1.27");
/// assert_eq!(l.key, b"image");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
}

impl<'a> Label<'a> {
    /// A label.
    ///
    /// ```
    /// let l = netipc::Label::new(b"kind", b"service");
    /// # assert_eq!(l.value, b"service");
    /// ```
    pub fn new(key: &'a [u8], value: &'a [u8]) -> Label<'a> {
        Label { key, value }
    }
}

impl fmt::Debug for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Label")
            .field(&Text(self.key))
            .field(&Text(self.value))
            .finish()
    }
}

/// The labels of a decoded lookup item, borrowing the response.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
/// let v = client.cgroups_lookup(&["/system.slice/nginx.service"])?;
/// let item = v.get(0).unwrap();
/// let labels: Vec<_> = item.labels.iter().collect();
/// assert_eq!(labels, [netipc::Label::new(b"kind", b"service")]);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Labels<'a> {
    raw: ffi::nipc_lookup_labels_t,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: a shared view of validated bytes nobody changes for 'a; reading
// labels only reads them.
unsafe impl Send for Labels<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for Labels<'_> {}

impl<'a> Labels<'a> {
    /// Number of labels.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// # let v = client.cgroups_lookup(&["/system.slice/nginx.service"])?;
    /// assert_eq!(v.get(0).unwrap().labels.len(), 1);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.raw.count as usize
    }

    /// True without labels.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// # let v = client.cgroups_lookup(&["/nope"])?;
    /// assert!(v.get(0).unwrap().labels.is_empty());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.count == 0
    }

    /// Label `index` in wire order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// # let v = client.cgroups_lookup(&["/system.slice/nginx.service"])?;
    /// let labels = v.get(0).unwrap().labels;
    /// assert_eq!(labels.get(0).unwrap().key, b"kind");
    /// assert!(labels.get(1).is_none());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<Label<'a>> {
        if index >= self.len() {
            return None;
        }
        let mut out = MaybeUninit::<ffi::nipc_label_t>::uninit();
        // SAFETY: self.raw comes from an item of a fully validated response
        // that lives for 'a; index is in range; *out is written on OK.
        let err = unsafe { ffi::nipc_lookup_label(&self.raw, index as u32, out.as_mut_ptr()) };
        if err != ffi::NIPC_OK {
            return None;
        }
        // SAFETY: written (OK above); the strings point into the response.
        let l = unsafe { out.assume_init() };
        // SAFETY: as above, valid for 'a.
        Some(unsafe {
            Label {
                key: ffi::bytes_of(l.key),
                value: ffi::bytes_of(l.value),
            }
        })
    }

    /// Every label in wire order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// # let v = client.cgroups_lookup(&["/system.slice/nginx.service"])?;
    /// for label in v.get(0).unwrap().labels.iter() {
    ///     println!("{:?}", label);
    /// }
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter {
            labels: *self,
            next: 0,
        }
    }
}

impl fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Labels`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
/// # let v = client.cgroups_lookup(&["/system.slice/nginx.service"])?;
/// assert_eq!(v.get(0).unwrap().labels.iter().count(), 1);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LabelIter<'a> {
    labels: Labels<'a>,
    next: usize,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = Label<'a>;
    fn next(&mut self) -> Option<Label<'a>> {
        let l = self.labels.get(self.next)?;
        self.next += 1;
        Some(l)
    }
}

/// At most this many labels of an answer are converted on the stack.
const STACK_LABELS: usize = 16;

/// Calls `f` with the C array of `labels` (NULL when there are none).
fn with_raw_labels<R>(
    labels: &[Label<'_>],
    f: impl FnOnce(*const ffi::nipc_label_t) -> Result<R>,
) -> Result<R> {
    let empty = ffi::nipc_label_t {
        key: ffi::nipc_str_t {
            ptr: std::ptr::null(),
            len: 0,
        },
        value: ffi::nipc_str_t {
            ptr: std::ptr::null(),
            len: 0,
        },
    };
    let convert = |l: &Label<'_>| -> Result<ffi::nipc_label_t> {
        Ok(ffi::nipc_label_t {
            key: ffi::str_of(l.key).ok_or(ErrorKind::SizeOverflow)?,
            value: ffi::str_of(l.value).ok_or(ErrorKind::SizeOverflow)?,
        })
    };
    if labels.is_empty() {
        return f(std::ptr::null());
    }
    if labels.len() <= STACK_LABELS {
        let mut raw = [empty; STACK_LABELS];
        for (r, l) in raw.iter_mut().zip(labels) {
            *r = convert(l)?;
        }
        return f(raw.as_ptr());
    }
    let raw = labels.iter().map(convert).collect::<Result<Vec<_>>>()?;
    f(raw.as_ptr())
}

fn label_count(labels: &[Label<'_>]) -> Result<u16> {
    u16::try_from(labels.len()).map_err(|_| ErrorKind::SizeOverflow.into())
}

fn no_labels() -> ffi::nipc_lookup_labels_t {
    ffi::nipc_lookup_labels_t {
        item: std::ptr::null(),
        table: 0,
        count: 0,
    }
}

// ================================================================ CGROUPS

/// One answer of a CGROUPS_LOOKUP response, borrowing it.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
/// let v = client.cgroups_lookup(&["/system.slice/nginx.service", "/nope"])?;
/// let known = v.get(0).unwrap();
/// assert_eq!(known.status, netipc::CgroupLookupStatus::KNOWN);
/// assert_eq!(known.name, b"nginx.service");
/// assert_eq!(v.get(1).unwrap().status, netipc::CgroupLookupStatus::UNKNOWN_PERMANENT);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct CgroupLookupItem<'a> {
    /// The outcome for this key.
    pub status: CgroupLookupStatus,
    /// Who runs the cgroup; `UNKNOWN` unless `KNOWN`.
    pub orchestrator: Orchestrator,
    /// The key, echoed.
    pub path: &'a [u8],
    /// The cgroup's name; empty unless `KNOWN`.
    pub name: &'a [u8],
    /// Its labels; none unless `KNOWN`.
    pub labels: Labels<'a>,
}

impl fmt::Debug for CgroupLookupItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupLookupItem")
            .field("status", &self.status)
            .field("orchestrator", &self.orchestrator)
            .field("path", &Text(self.path))
            .field("name", &Text(self.name))
            .field("labels", &self.labels)
            .finish()
    }
}

/// A CGROUPS_LOOKUP result: item `i` answers key `i`. A zero-copy view of
/// the client's result buffer, valid until the next call on that client.
/// The whole response was validated by the call, so items cannot fail.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
/// let v = client.cgroups_lookup(&["/system.slice/nginx.service", "/nope"])?;
/// assert_eq!(v.len(), 2);
/// for item in v.iter() {
///     println!("{}: {}", String::from_utf8_lossy(item.path), item.status.name());
/// }
/// # Ok::<(), netipc::Error>(())
/// ```
///
/// Keys of the next lookup cannot borrow from this one (copy them first):
///
/// ```compile_fail
/// # fn f(client: &mut netipc::Client) -> netipc::Result<()> {
/// let v = client.cgroups_lookup(&["/a", "/b"])?;
/// let retry: Vec<&[u8]> = v.iter().map(|i| i.path).collect();
/// let again = client.cgroups_lookup(&retry)?; // `client` is still borrowed by `v`
/// # Ok(()) }
/// ```
pub struct CgroupsLookup<'a> {
    view: ffi::nipc_cgroups_lookup_view_t,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: a shared view of validated bytes nobody changes for 'a (the
// client is borrowed mutably for 'a); reading items only reads them.
unsafe impl Send for CgroupsLookup<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for CgroupsLookup<'_> {}

impl<'a> CgroupsLookup<'a> {
    /// # Safety
    /// `view` must be a validated response whose payload lives for `'a`.
    pub(crate) unsafe fn from_raw(view: ffi::nipc_cgroups_lookup_view_t) -> CgroupsLookup<'a> {
        CgroupsLookup {
            view,
            _borrow: PhantomData,
        }
    }

    /// Number of items (= number of keys asked).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// assert_eq!(client.cgroups_lookup(&["/a", "/b", "/c"])?.len(), 3);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.view.item_count as usize
    }

    /// True for the answer to no keys (a probe for the generation).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// let none: [&str; 0] = [];
    /// assert!(client.cgroups_lookup(&none)?.is_empty());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.view.item_count == 0
    }

    /// The provider's data generation (the same for every part).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// assert_eq!(client.cgroups_lookup(&["/a"])?.generation(), 3);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn generation(&self) -> u64 {
        self.view.generation
    }

    /// Item `index`, or `None` past the end.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// let v = client.cgroups_lookup(&["/a"])?;
    /// assert_eq!(v.get(0).unwrap().path, b"/a");
    /// assert!(v.get(1).is_none());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<CgroupLookupItem<'a>> {
        if index >= self.len() {
            return None;
        }
        let mut out = MaybeUninit::<ffi::nipc_cgroups_lookup_item_t>::uninit();
        // SAFETY: a validated view living for 'a; index in range; *out is
        // written on OK.
        let err = unsafe {
            ffi::nipc_cgroups_lookup_resp_item(&self.view, index as u32, out.as_mut_ptr())
        };
        if err != ffi::NIPC_OK {
            return None;
        }
        // SAFETY: written (OK above).
        let it = unsafe { out.assume_init() };
        // SAFETY: the item's strings and label table point into the
        // response, valid for 'a.
        Some(unsafe {
            CgroupLookupItem {
                status: CgroupLookupStatus(it.status),
                orchestrator: Orchestrator(it.orchestrator),
                path: ffi::bytes_of(it.path),
                name: ffi::bytes_of(it.name),
                labels: Labels {
                    raw: it.labels,
                    _borrow: PhantomData,
                },
            }
        })
    }

    /// Every item, in key order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
    /// let v = client.cgroups_lookup(&["/a", "/b"])?;
    /// let paths: Vec<&[u8]> = v.iter().map(|i| i.path).collect();
    /// assert_eq!(paths, [&b"/a"[..], &b"/b"[..]]);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> CgroupsLookupIter<'_, 'a> {
        CgroupsLookupIter {
            view: self,
            next: 0,
        }
    }
}

impl fmt::Debug for CgroupsLookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupsLookup")
            .field("generation", &self.generation())
            .field("items", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over a [`CgroupsLookup`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::cgroups_lookup_pair(dir.path())?;
/// let v = client.cgroups_lookup(&["/a", "/b"])?;
/// assert_eq!(v.iter().len(), 2);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug)]
pub struct CgroupsLookupIter<'v, 'a> {
    view: &'v CgroupsLookup<'a>,
    next: usize,
}

impl<'a> Iterator for CgroupsLookupIter<'_, 'a> {
    type Item = CgroupLookupItem<'a>;
    fn next(&mut self) -> Option<CgroupLookupItem<'a>> {
        let it = self.view.get(self.next)?;
        self.next += 1;
        Some(it)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.view.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for CgroupsLookupIter<'_, '_> {}

/// What a cgroups-lookup handler answers for one key; `labels` are copied
/// into the response.
///
/// ```
/// use netipc::{CgroupLookupAnswer, Label, Orchestrator};
/// let labels = [Label::new(b"kind", b"service")];
/// let a = CgroupLookupAnswer::known(b"/system.slice/nginx.service", Orchestrator::SYSTEMD,
///                                   b"nginx.service", &labels);
/// let b = CgroupLookupAnswer::unknown_permanent(b"/gone.scope");
/// # let _ = (a, b);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CgroupLookupAnswer<'a> {
    /// The outcome.
    pub status: CgroupLookupStatus,
    /// `UNKNOWN` unless `KNOWN`.
    pub orchestrator: Orchestrator,
    /// The request's key, echoed.
    pub path: &'a [u8],
    /// Empty unless `KNOWN`.
    pub name: &'a [u8],
    /// None unless `KNOWN`.
    pub labels: &'a [Label<'a>],
}

impl<'a> CgroupLookupAnswer<'a> {
    /// A `KNOWN` answer.
    ///
    /// ```
    /// let a = netipc::CgroupLookupAnswer::known(b"/a", netipc::Orchestrator::DOCKER, b"a", &[]);
    /// assert_eq!(a.status, netipc::CgroupLookupStatus::KNOWN);
    /// ```
    pub fn known(
        path: &'a [u8],
        orchestrator: Orchestrator,
        name: &'a [u8],
        labels: &'a [Label<'a>],
    ) -> CgroupLookupAnswer<'a> {
        CgroupLookupAnswer {
            status: CgroupLookupStatus::KNOWN,
            orchestrator,
            path,
            name,
            labels,
        }
    }

    /// An answer with only a status (and the path), for any status but
    /// `KNOWN`.
    ///
    /// ```
    /// use netipc::{CgroupLookupAnswer, CgroupLookupStatus};
    /// let a = CgroupLookupAnswer::status(b"/a", CgroupLookupStatus::UNKNOWN_RETRY_LATER);
    /// assert!(a.name.is_empty());
    /// ```
    pub fn status(path: &'a [u8], status: CgroupLookupStatus) -> CgroupLookupAnswer<'a> {
        CgroupLookupAnswer {
            status,
            orchestrator: Orchestrator::UNKNOWN,
            path,
            name: b"",
            labels: &[],
        }
    }

    /// An `UNKNOWN_PERMANENT` answer.
    ///
    /// ```
    /// let a = netipc::CgroupLookupAnswer::unknown_permanent(b"/a");
    /// assert_eq!(a.status, netipc::CgroupLookupStatus::UNKNOWN_PERMANENT);
    /// ```
    pub fn unknown_permanent(path: &'a [u8]) -> CgroupLookupAnswer<'a> {
        CgroupLookupAnswer::status(path, CgroupLookupStatus::UNKNOWN_PERMANENT)
    }
}

/// The keys of a cgroups-lookup request, as a handler gets them; valid
/// during the handler call.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{CgroupLookupAnswer, Server, ServerConfig};
/// let server = Server::cgroups_lookup(dir.path(), "cgroups-lookup", &ServerConfig::new(), |req, reply| {
///     for path in req.iter() {
///         reply.add(&CgroupLookupAnswer::unknown_permanent(path))?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct CgroupsLookupRequest<'r> {
    raw: &'r ffi::nipc_cgroups_lookup_req_t,
}

impl<'r> CgroupsLookupRequest<'r> {
    pub(crate) fn new(raw: &'r ffi::nipc_cgroups_lookup_req_t) -> CgroupsLookupRequest<'r> {
        CgroupsLookupRequest { raw }
    }

    /// Number of keys.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// for i in 0..req.len() {
    ///     reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(req.key(i).unwrap()))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.raw.item_count as usize
    }

    /// True for a probe (no keys).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// if req.is_empty() {
    ///     reply.set_generation(9); // a probe only asks for the generation
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.item_count == 0
    }

    /// Key `index` (a path, without its NUL), or `None` past the end.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// let first: Option<&[u8]> = req.key(0);
    /// # let _ = (first, reply); Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn key(&self, index: usize) -> Option<&'r [u8]> {
        if index >= self.len() {
            return None;
        }
        let mut out = MaybeUninit::<ffi::nipc_str_t>::uninit();
        // SAFETY: self.raw is the decoded request the server passed to the
        // handler, valid for 'r; index in range; *out written on OK.
        let err =
            unsafe { ffi::nipc_cgroups_lookup_req_key(self.raw, index as u32, out.as_mut_ptr()) };
        if err != ffi::NIPC_OK {
            return None;
        }
        // SAFETY: written on OK; the key points into the request, valid for 'r.
        Some(unsafe { ffi::bytes_of(out.assume_init()) })
    }

    /// Every key, in order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// for path in req.iter() {
    ///     reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(path))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'r [u8]> + '_ {
        (0..self.len()).map(move |i| self.key(i).unwrap_or(b""))
    }
}

impl fmt::Debug for CgroupsLookupRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Text)).finish()
    }
}

/// The reply a cgroups-lookup handler builds (the C library's reply-mode
/// builder over the session's response buffer): exactly one answer per
/// key, in order, echoing the key. The builder keeps room for the keys
/// still to come and turns answers that do not fit into `OVERSIZED_ITEM` /
/// `PAYLOAD_EXCEEDED` by itself, so a handler may ignore what
/// [`add`](Self::add) returns; the server judges the whole reply.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{CgroupLookupAnswer, Label, Orchestrator, Server, ServerConfig};
/// let server = Server::cgroups_lookup(dir.path(), "cgroups-lookup", &ServerConfig::new(), |req, reply| {
///     reply.set_generation(1);
///     for path in req.iter() {
///         if reply.exceeded() {
///             // The rest will be PAYLOAD_EXCEEDED whatever we add: skip the work.
///             reply.add(&CgroupLookupAnswer::unknown_permanent(path))?;
///             continue;
///         }
///         let labels = [Label::new(b"kind", b"scope")];
///         reply.add(&CgroupLookupAnswer::known(path, Orchestrator::SYSTEMD, b"x", &labels))?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct CgroupsLookupReply<'r> {
    raw: *mut ffi::nipc_cgroups_lookup_builder_t,
    _borrow: PhantomData<&'r mut ffi::nipc_cgroups_lookup_builder_t>,
}

impl<'r> CgroupsLookupReply<'r> {
    /// # Safety
    /// `raw` must be the builder the server passed to the handler, used by
    /// no one else for `'r`.
    pub(crate) unsafe fn new(
        raw: *mut ffi::nipc_cgroups_lookup_builder_t,
    ) -> CgroupsLookupReply<'r> {
        CgroupsLookupReply {
            raw,
            _borrow: PhantomData,
        }
    }

    /// Sets the response's generation (default 0).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// reply.set_generation(17);
    /// # for p in req.iter() { reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(p))?; }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn set_generation(&mut self, generation: u64) {
        // SAFETY: the builder is valid and ours for 'r (contract of new()).
        unsafe { ffi::nipc_cgroups_lookup_builder_set_generation(self.raw, generation) }
    }

    /// True once the builder only writes `PAYLOAD_EXCEEDED`: the remaining
    /// answers no longer matter (but must still be added).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// assert!(!reply.exceeded()); // nothing added yet
    /// # for p in req.iter() { reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(p))?; }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn exceeded(&self) -> bool {
        // SAFETY: the builder is valid for 'r.
        unsafe { ffi::nipc_cgroups_lookup_builder_exceeded(self.raw) }
    }

    /// Adds the answer for the next key. Errors (sticky): `BAD_STATUS`,
    /// `BAD_FIELD` (a field the status forbids, an empty path or label key,
    /// not the request's key), `EMBEDDED_NUL`, `BUFFER_TOO_SMALL` (not even
    /// a replacement fits, or more answers than keys), `SIZE_OVERFLOW`.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::cgroups_lookup(dir.path(), "l", &netipc::ServerConfig::new(), |req, reply| {
    /// for path in req.iter() {
    ///     reply.add(&netipc::CgroupLookupAnswer::unknown_permanent(path))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn add(&mut self, answer: &CgroupLookupAnswer<'_>) -> Result<()> {
        let item = ffi::nipc_cgroups_lookup_item_t {
            status: answer.status.0,
            orchestrator: answer.orchestrator.0,
            path: ffi::str_of(answer.path).ok_or(ErrorKind::SizeOverflow)?,
            name: ffi::str_of(answer.name).ok_or(ErrorKind::SizeOverflow)?,
            labels: ffi::nipc_lookup_labels_t {
                count: label_count(answer.labels)?,
                ..no_labels()
            },
        };
        with_raw_labels(answer.labels, |labels| {
            // SAFETY: the builder is valid for 'r; item's strings and the
            // `count` labels point to readable memory for this call; the
            // builder copies them into the response.
            check(unsafe { ffi::nipc_cgroups_lookup_builder_add(self.raw, &item, labels) })
        })
    }
}

impl fmt::Debug for CgroupsLookupReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupsLookupReply")
            .field("exceeded", &self.exceeded())
            .finish()
    }
}

// =================================================================== APPS

/// One answer of an APPS_LOOKUP response, borrowing it.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
/// let v = client.apps_lookup(&[4242, 1])?;
/// let nginx = v.get(0).unwrap();
/// assert_eq!((nginx.status, nginx.comm), (netipc::AppStatus::KNOWN, &b"nginx"[..]));
/// assert_eq!(v.get(1).unwrap().uid, netipc::UID_UNSET);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct AppLookupItem<'a> {
    /// The outcome for this PID.
    pub status: AppStatus,
    /// Who runs the process's cgroup.
    pub orchestrator: Orchestrator,
    /// What is known about the process's cgroup (when `KNOWN`).
    pub cgroup_status: AppCgroupStatus,
    /// The key, echoed.
    pub pid: u32,
    /// Parent PID.
    pub ppid: u32,
    /// [`UID_UNSET`] unless `KNOWN`.
    pub uid: u32,
    /// Linux: jiffies since boot (`/proc/<pid>/stat` field 22).
    pub starttime: u64,
    /// Command name (at most 15 bytes; non-empty when `KNOWN`).
    pub comm: &'a [u8],
    /// The cgroup's path.
    pub cgroup_path: &'a [u8],
    /// The cgroup's name.
    pub cgroup_name: &'a [u8],
    /// The cgroup's labels.
    pub labels: Labels<'a>,
}

impl fmt::Debug for AppLookupItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppLookupItem")
            .field("status", &self.status)
            .field("orchestrator", &self.orchestrator)
            .field("cgroup_status", &self.cgroup_status)
            .field("pid", &self.pid)
            .field("ppid", &self.ppid)
            .field("uid", &self.uid)
            .field("starttime", &self.starttime)
            .field("comm", &Text(self.comm))
            .field("cgroup_path", &Text(self.cgroup_path))
            .field("cgroup_name", &Text(self.cgroup_name))
            .field("labels", &self.labels)
            .finish()
    }
}

/// An APPS_LOOKUP result: item `i` answers PID `i`. A zero-copy view of the
/// client's result buffer, valid until the next call on that client.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
/// let v = client.apps_lookup(&[4242, 999_999])?;
/// for app in v.iter() {
///     println!("{} {}", app.pid, app.status.name());
/// }
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct AppsLookup<'a> {
    view: ffi::nipc_apps_lookup_view_t,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: as for CgroupsLookup: a shared view of validated, unchanging bytes.
unsafe impl Send for AppsLookup<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for AppsLookup<'_> {}

impl<'a> AppsLookup<'a> {
    /// # Safety
    /// `view` must be a validated response whose payload lives for `'a`.
    pub(crate) unsafe fn from_raw(view: ffi::nipc_apps_lookup_view_t) -> AppsLookup<'a> {
        AppsLookup {
            view,
            _borrow: PhantomData,
        }
    }

    /// Number of items (= number of PIDs asked).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// assert_eq!(client.apps_lookup(&[1, 2])?.len(), 2);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.view.item_count as usize
    }

    /// True for the answer to no PIDs.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// assert!(client.apps_lookup(&[])?.is_empty());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.view.item_count == 0
    }

    /// The provider's data generation.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// assert_eq!(client.apps_lookup(&[1])?.generation(), 5);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn generation(&self) -> u64 {
        self.view.generation
    }

    /// Item `index`, or `None` past the end.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// let v = client.apps_lookup(&[7])?;
    /// assert_eq!(v.get(0).unwrap().pid, 7);
    /// assert!(v.get(1).is_none());
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<AppLookupItem<'a>> {
        if index >= self.len() {
            return None;
        }
        let mut out = MaybeUninit::<ffi::nipc_apps_lookup_item_t>::uninit();
        // SAFETY: a validated view living for 'a; index in range; *out is
        // written on OK.
        let err =
            unsafe { ffi::nipc_apps_lookup_resp_item(&self.view, index as u32, out.as_mut_ptr()) };
        if err != ffi::NIPC_OK {
            return None;
        }
        // SAFETY: written (OK above).
        let it = unsafe { out.assume_init() };
        // SAFETY: strings and labels point into the response, valid for 'a.
        Some(unsafe {
            AppLookupItem {
                status: AppStatus(it.status),
                orchestrator: Orchestrator(it.orchestrator),
                cgroup_status: AppCgroupStatus(it.cgroup_status),
                pid: it.pid,
                ppid: it.ppid,
                uid: it.uid,
                starttime: it.starttime,
                comm: ffi::bytes_of(it.comm),
                cgroup_path: ffi::bytes_of(it.cgroup_path),
                cgroup_name: ffi::bytes_of(it.cgroup_name),
                labels: Labels {
                    raw: it.labels,
                    _borrow: PhantomData,
                },
            }
        })
    }

    /// Every item, in PID order of the request.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
    /// let pids: Vec<u32> = client.apps_lookup(&[3, 2, 1])?.iter().map(|a| a.pid).collect();
    /// assert_eq!(pids, [3, 2, 1]);
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> AppsLookupIter<'_, 'a> {
        AppsLookupIter {
            view: self,
            next: 0,
        }
    }
}

impl fmt::Debug for AppsLookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppsLookup")
            .field("generation", &self.generation())
            .field("items", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over an [`AppsLookup`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// # let (_server, mut client) = netipc::__doc::apps_lookup_pair(dir.path())?;
/// assert_eq!(client.apps_lookup(&[1, 2])?.iter().len(), 2);
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug)]
pub struct AppsLookupIter<'v, 'a> {
    view: &'v AppsLookup<'a>,
    next: usize,
}

impl<'a> Iterator for AppsLookupIter<'_, 'a> {
    type Item = AppLookupItem<'a>;
    fn next(&mut self) -> Option<AppLookupItem<'a>> {
        let it = self.view.get(self.next)?;
        self.next += 1;
        Some(it)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.view.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for AppsLookupIter<'_, '_> {}

/// What an apps-lookup handler answers for one PID; `labels` are copied
/// into the response.
///
/// ```
/// use netipc::{AppLookupAnswer, AppCgroupStatus, Orchestrator};
/// let mut a = AppLookupAnswer::known(4242, 1, 33, 12345, b"nginx");
/// a.cgroup_status = AppCgroupStatus::KNOWN;
/// a.orchestrator = Orchestrator::DOCKER;
/// a.cgroup_path = b"/system.slice/docker-abc.scope";
/// a.cgroup_name = b"web";
/// let gone = AppLookupAnswer::unknown(999_999);
/// # let _ = (a, gone);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AppLookupAnswer<'a> {
    /// The outcome.
    pub status: AppStatus,
    /// Who runs the process's cgroup (0 unless the cgroup is `KNOWN`).
    pub orchestrator: Orchestrator,
    /// What is known about the cgroup (0 unless `KNOWN`).
    pub cgroup_status: AppCgroupStatus,
    /// The request's PID, echoed.
    pub pid: u32,
    /// Parent PID (0 unless `KNOWN`).
    pub ppid: u32,
    /// [`UID_UNSET`] unless `KNOWN`.
    pub uid: u32,
    /// Start time (0 unless `KNOWN`).
    pub starttime: u64,
    /// Command name, 1 to 15 bytes when `KNOWN`, else empty.
    pub comm: &'a [u8],
    /// The cgroup's path (see the status rules in `lookup.h`).
    pub cgroup_path: &'a [u8],
    /// The cgroup's name.
    pub cgroup_name: &'a [u8],
    /// The cgroup's labels.
    pub labels: &'a [Label<'a>],
}

impl<'a> AppLookupAnswer<'a> {
    /// An `UNKNOWN` answer for `pid`.
    ///
    /// ```
    /// let a = netipc::AppLookupAnswer::unknown(12);
    /// assert_eq!(a.uid, netipc::UID_UNSET);
    /// ```
    pub fn unknown(pid: u32) -> AppLookupAnswer<'a> {
        AppLookupAnswer {
            status: AppStatus::UNKNOWN,
            orchestrator: Orchestrator::UNKNOWN,
            cgroup_status: AppCgroupStatus(0),
            pid,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: b"",
            cgroup_path: b"",
            cgroup_name: b"",
            labels: &[],
        }
    }

    /// A `KNOWN` answer whose cgroup is the host root (`HOST_ROOT`); set
    /// `cgroup_status` and the cgroup fields for anything else.
    ///
    /// ```
    /// let a = netipc::AppLookupAnswer::known(1, 0, 0, 1, b"init");
    /// assert_eq!(a.cgroup_status, netipc::AppCgroupStatus::HOST_ROOT);
    /// ```
    pub fn known(
        pid: u32,
        ppid: u32,
        uid: u32,
        starttime: u64,
        comm: &'a [u8],
    ) -> AppLookupAnswer<'a> {
        AppLookupAnswer {
            status: AppStatus::KNOWN,
            cgroup_status: AppCgroupStatus::HOST_ROOT,
            ppid,
            uid,
            starttime,
            comm,
            ..AppLookupAnswer::unknown(pid)
        }
    }
}

/// The PIDs of an apps-lookup request, as a handler gets them; valid
/// during the handler call.
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{AppLookupAnswer, Server, ServerConfig};
/// let server = Server::apps_lookup(dir.path(), "apps-lookup", &ServerConfig::new(), |req, reply| {
///     for pid in req.iter() {
///         reply.add(&AppLookupAnswer::unknown(pid))?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct AppsLookupRequest<'r> {
    raw: &'r ffi::nipc_apps_lookup_req_t,
}

impl<'r> AppsLookupRequest<'r> {
    pub(crate) fn new(raw: &'r ffi::nipc_apps_lookup_req_t) -> AppsLookupRequest<'r> {
        AppsLookupRequest { raw }
    }

    /// Number of PIDs.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// for i in 0..req.len() {
    ///     reply.add(&netipc::AppLookupAnswer::unknown(req.pid(i).unwrap()))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.raw.item_count as usize
    }

    /// True for a probe (no PIDs).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// if req.is_empty() { reply.set_generation(2); }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.item_count == 0
    }

    /// PID `index`, or `None` past the end.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// let first: Option<u32> = req.pid(0);
    /// # let _ = (first, reply); Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn pid(&self, index: usize) -> Option<u32> {
        if index >= self.len() {
            return None;
        }
        let mut pid = 0u32;
        // SAFETY: self.raw is the decoded request, valid for 'r; index in range.
        let err = unsafe { ffi::nipc_apps_lookup_req_pid(self.raw, index as u32, &mut pid) };
        if err == ffi::NIPC_OK {
            Some(pid)
        } else {
            None
        }
    }

    /// Every PID, in order.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// for pid in req.iter() {
    ///     reply.add(&netipc::AppLookupAnswer::unknown(pid))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        (0..self.len()).map(move |i| self.pid(i).unwrap_or(0))
    }
}

impl fmt::Debug for AppsLookupRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The reply an apps-lookup handler builds; the same rules as
/// [`CgroupsLookupReply`].
///
/// ```
/// # let dir = netipc::__doc::RunDir::new();
/// use netipc::{AppLookupAnswer, Server, ServerConfig};
/// let server = Server::apps_lookup(dir.path(), "apps-lookup", &ServerConfig::new(), |req, reply| {
///     reply.set_generation(1);
///     for pid in req.iter() {
///         let answer = if pid == 1 {
///             AppLookupAnswer::known(1, 0, 0, 1, b"init")
///         } else {
///             AppLookupAnswer::unknown(pid)
///         };
///         reply.add(&answer)?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), netipc::Error>(())
/// ```
pub struct AppsLookupReply<'r> {
    raw: *mut ffi::nipc_apps_lookup_builder_t,
    _borrow: PhantomData<&'r mut ffi::nipc_apps_lookup_builder_t>,
}

impl<'r> AppsLookupReply<'r> {
    /// # Safety
    /// `raw` must be the builder the server passed to the handler, used by
    /// no one else for `'r`.
    pub(crate) unsafe fn new(raw: *mut ffi::nipc_apps_lookup_builder_t) -> AppsLookupReply<'r> {
        AppsLookupReply {
            raw,
            _borrow: PhantomData,
        }
    }

    /// Sets the response's generation (default 0).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// reply.set_generation(3);
    /// # for p in req.iter() { reply.add(&netipc::AppLookupAnswer::unknown(p))?; }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn set_generation(&mut self, generation: u64) {
        // SAFETY: the builder is valid and ours for 'r.
        unsafe { ffi::nipc_apps_lookup_builder_set_generation(self.raw, generation) }
    }

    /// True once the builder only writes `PAYLOAD_EXCEEDED`.
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// let skip_expensive_work = reply.exceeded();
    /// # let _ = skip_expensive_work;
    /// # for p in req.iter() { reply.add(&netipc::AppLookupAnswer::unknown(p))?; }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn exceeded(&self) -> bool {
        // SAFETY: the builder is valid for 'r.
        unsafe { ffi::nipc_apps_lookup_builder_exceeded(self.raw) }
    }

    /// Adds the answer for the next PID. Errors (sticky) as for
    /// [`CgroupsLookupReply::add`], with the field rules of APPS_LOOKUP
    /// (`lookup.h`).
    ///
    /// ```
    /// # let dir = netipc::__doc::RunDir::new();
    /// # let s = netipc::Server::apps_lookup(dir.path(), "a", &netipc::ServerConfig::new(), |req, reply| {
    /// for pid in req.iter() {
    ///     reply.add(&netipc::AppLookupAnswer::unknown(pid))?;
    /// }
    /// # Ok(()) })?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn add(&mut self, answer: &AppLookupAnswer<'_>) -> Result<()> {
        let item = ffi::nipc_apps_lookup_item_t {
            status: answer.status.0,
            orchestrator: answer.orchestrator.0,
            cgroup_status: answer.cgroup_status.0,
            pid: answer.pid,
            ppid: answer.ppid,
            uid: answer.uid,
            starttime: answer.starttime,
            comm: ffi::str_of(answer.comm).ok_or(ErrorKind::SizeOverflow)?,
            cgroup_path: ffi::str_of(answer.cgroup_path).ok_or(ErrorKind::SizeOverflow)?,
            cgroup_name: ffi::str_of(answer.cgroup_name).ok_or(ErrorKind::SizeOverflow)?,
            labels: ffi::nipc_lookup_labels_t {
                count: label_count(answer.labels)?,
                ..no_labels()
            },
        };
        with_raw_labels(answer.labels, |labels| {
            // SAFETY: the builder is valid for 'r; the strings and `count`
            // labels are readable for this call and copied by the builder.
            check(unsafe { ffi::nipc_apps_lookup_builder_add(self.raw, &item, labels) })
        })
    }
}

impl fmt::Debug for AppsLookupReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppsLookupReply")
            .field("exceeded", &self.exceeded())
            .finish()
    }
}
