//! Client and server configuration.
use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::time::Duration;

use crate::ffi;

/// A set of transport profiles (`NIPC_PROFILE_*` bits): what a side
/// supports or prefers in the handshake.
///
/// ```
/// use netipc::Profiles;
/// let p = Profiles::BASELINE | Profiles::SHM_HYBRID;
/// assert!(p.contains(Profiles::SHM_HYBRID));
/// assert_eq!(p.bits(), 0x03);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Profiles(u32);

impl Profiles {
    /// No profile: the default (the baseline transport only).
    ///
    /// ```
    /// assert_eq!(netipc::ClientConfig::new().supported_profiles(), netipc::Profiles::NONE);
    /// ```
    pub const NONE: Profiles = Profiles(0);
    /// The socket (UDS SEQPACKET on POSIX, Named Pipe on Windows).
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().profiles(netipc::Profiles::BASELINE);
    /// # let _ = cfg;
    /// ```
    pub const BASELINE: Profiles = Profiles(0x01);
    /// Shared memory, spin then futex / event. On Linux, netipc adds its own
    /// sealed profile wherever this one is listed (see
    /// [`ClientConfig::exact_profiles`]).
    ///
    /// ```
    /// use netipc::Profiles;
    /// let cfg = netipc::ClientConfig::new().profiles(Profiles::BASELINE | Profiles::SHM_HYBRID);
    /// # let _ = cfg;
    /// ```
    pub const SHM_HYBRID: Profiles = Profiles(0x02);
    /// Shared memory, futex only (POSIX; runs like `SHM_HYBRID`).
    ///
    /// ```
    /// assert!(netipc::Profiles::SHM_FUTEX.is_shm());
    /// ```
    pub const SHM_FUTEX: Profiles = Profiles(0x04);
    /// netipc's own profile (Linux): a sealed memfd region passed over the
    /// socket. Never selected with peers that do not list it.
    ///
    /// ```
    /// // What a session between two netipc peers on Linux usually selects:
    /// let sealed = netipc::Profiles::SHM_SEALED;
    /// assert_eq!(sealed.bits(), 1 << 24);
    /// ```
    pub const SHM_SEALED: Profiles = Profiles(0x0100_0000);

    /// Profiles from raw `NIPC_PROFILE_*` bits.
    ///
    /// ```
    /// assert_eq!(netipc::Profiles::from_bits(1), netipc::Profiles::BASELINE);
    /// ```
    pub const fn from_bits(bits: u32) -> Profiles {
        Profiles(bits)
    }

    /// The raw bits.
    ///
    /// ```
    /// assert_eq!(netipc::Profiles::SHM_HYBRID.bits(), 2);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True when every profile of `other` is in `self`.
    ///
    /// ```
    /// use netipc::Profiles;
    /// assert!(!Profiles::BASELINE.contains(Profiles::SHM_HYBRID));
    /// ```
    pub const fn contains(self, other: Profiles) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when the set uses shared memory (any SHM bit).
    ///
    /// ```
    /// use netipc::Profiles;
    /// assert!(Profiles::SHM_SEALED.is_shm());
    /// assert!(!Profiles::BASELINE.is_shm());
    /// ```
    pub const fn is_shm(self) -> bool {
        self.0 & (0x06 | 0x0100_0000) != 0
    }
}

impl BitOr for Profiles {
    type Output = Profiles;
    fn bitor(self, rhs: Profiles) -> Profiles {
        Profiles(self.0 | rhs.0)
    }
}

impl BitOrAssign for Profiles {
    fn bitor_assign(&mut self, rhs: Profiles) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Profiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Profiles::BASELINE, "BASELINE"),
            (Profiles::SHM_HYBRID, "SHM_HYBRID"),
            (Profiles::SHM_FUTEX, "SHM_FUTEX"),
            (Profiles::SHM_SEALED, "SHM_SEALED"),
        ];
        let mut rest = self.0;
        let mut first = true;
        f.write_str("Profiles(")?;
        for (p, name) in names {
            if self.contains(p) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !p.0;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{:#x}", rest)?;
        }
        f.write_str(")")
    }
}

/// Milliseconds for the C API: 0 means "the default", so a zero duration is
/// rounded up to 1 ms, and anything beyond `u32::MAX` ms is clamped.
pub(crate) fn millis(d: Duration) -> u32 {
    match d.as_millis() {
        0 => 1,
        ms => u32::try_from(ms).unwrap_or(u32::MAX),
    }
}

/// Configuration of a [`Client`](crate::Client) or
/// [`CgroupsCache`](crate::CgroupsCache) (`nipc_client_config_t`). The
/// default leaves every field to the library's default: baseline
/// transport, 1024-byte requests, 64 KiB responses, 30 s call timeout.
///
/// ```
/// use std::time::Duration;
/// use netipc::{ClientConfig, Profiles};
/// let cfg = ClientConfig::new()
///     .profiles(Profiles::BASELINE | Profiles::SHM_HYBRID)
///     .call_timeout(Duration::from_secs(2))
///     .auth_token(0x1234);
/// assert_eq!(cfg.supported_profiles(), Profiles::BASELINE | Profiles::SHM_HYBRID);
/// ```
#[derive(Clone, Default)]
pub struct ClientConfig {
    raw: RawClientConfig,
    allowed_server_uids: Vec<u32>,
}

#[derive(Clone, Copy)]
struct RawClientConfig(ffi::nipc_client_config_t);

impl Default for RawClientConfig {
    fn default() -> Self {
        RawClientConfig(ffi::nipc_client_config_t {
            supported_profiles: 0,
            preferred_profiles: 0,
            max_request_payload_bytes: 0,
            max_request_batch_items: 0,
            max_response_payload_bytes: 0,
            max_payload_ceiling: 0,
            auth_token: 0,
            call_timeout_ms: 0,
            shm_attach_timeout_ms: 0,
            max_logical_lookup_items: 0,
            max_logical_lookup_subcalls: 0,
            max_logical_lookup_response_bytes: 0,
            allowed_server_uids: std::ptr::null(),
            allowed_server_uid_count: 0,
            exact_profiles: 0,
            handshake_timeout_ms: 0,
        })
    }
}

impl ClientConfig {
    /// The library defaults.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new();
    /// assert_eq!(cfg.supported_profiles(), netipc::Profiles::NONE);
    /// ```
    pub fn new() -> ClientConfig {
        ClientConfig::default()
    }

    /// Profiles this client supports; none = the baseline only. Add
    /// [`Profiles::SHM_HYBRID`] for shared memory.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().profiles(netipc::Profiles::SHM_HYBRID);
    /// # assert!(cfg.supported_profiles().is_shm());
    /// ```
    pub fn profiles(mut self, supported: Profiles) -> Self {
        self.raw.0.supported_profiles = supported.bits();
        self
    }

    /// The supported profiles set with [`profiles`](Self::profiles).
    ///
    /// ```
    /// assert_eq!(netipc::ClientConfig::new().supported_profiles().bits(), 0);
    /// ```
    pub fn supported_profiles(&self) -> Profiles {
        Profiles(self.raw.0.supported_profiles)
    }

    /// Profiles this client prefers; none = the server decides.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().preferred_profiles(netipc::Profiles::SHM_HYBRID);
    /// # let _ = cfg;
    /// ```
    pub fn preferred_profiles(mut self, preferred: Profiles) -> Self {
        self.raw.0.preferred_profiles = preferred.bits();
        self
    }

    /// Advertise the profiles exactly as given: without netipc's sealed SHM
    /// profile added where `SHM_HYBRID` is listed.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().exact_profiles(true);
    /// # let _ = cfg;
    /// ```
    pub fn exact_profiles(mut self, exact: bool) -> Self {
        self.raw.0.exact_profiles = i32::from(exact);
        self
    }

    /// How long a connect waits for the server's HELLO_ACK, in ms; 0 = 5000.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().handshake_timeout_ms(20_000);
    /// # let _ = cfg;
    /// ```
    pub fn handshake_timeout_ms(mut self, ms: u32) -> Self {
        self.raw.0.handshake_timeout_ms = ms;
        self
    }

    /// Starting request payload proposal in bytes (grows on demand); 0 = 1024.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().max_request_payload(4096);
    /// # let _ = cfg;
    /// ```
    pub fn max_request_payload(mut self, bytes: u32) -> Self {
        self.raw.0.max_request_payload_bytes = bytes;
        self
    }

    /// Most items of an INCREMENT batch; 0 = 1.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().max_request_batch_items(1000);
    /// # let _ = cfg;
    /// ```
    pub fn max_request_batch_items(mut self, items: u32) -> Self {
        self.raw.0.max_request_batch_items = items;
        self
    }

    /// Response payload hint in bytes (the server decides); 0 = 65536.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().max_response_payload(1 << 20);
    /// # let _ = cfg;
    /// ```
    pub fn max_response_payload(mut self, bytes: u32) -> Self {
        self.raw.0.max_response_payload_bytes = bytes;
        self
    }

    /// Growth bound for both directions in bytes; 0 = 1 MiB.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().max_payload_ceiling(16 << 20);
    /// # let _ = cfg;
    /// ```
    pub fn max_payload_ceiling(mut self, bytes: u32) -> Self {
        self.raw.0.max_payload_ceiling = bytes;
        self
    }

    /// The token sent in the handshake; the server must be configured with
    /// the same one.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().auth_token(0xfeed);
    /// # let _ = cfg;
    /// ```
    pub fn auth_token(mut self, token: u64) -> Self {
        self.raw.0.auth_token = token;
        self
    }

    /// Default bound of one call, reconnect and retry included; 30 s if not
    /// set. [`Client::set_call_timeout`](crate::Client::set_call_timeout)
    /// overrides it per client.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().call_timeout(std::time::Duration::from_millis(500));
    /// # let _ = cfg;
    /// ```
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.raw.0.call_timeout_ms = millis(timeout);
        self
    }

    /// How long connect retries an SHM region that is not ready before it
    /// falls back to the baseline for good; 5 s if not set.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().shm_attach_timeout(std::time::Duration::from_secs(1));
    /// # let _ = cfg;
    /// ```
    pub fn shm_attach_timeout(mut self, timeout: Duration) -> Self {
        self.raw.0.shm_attach_timeout_ms = millis(timeout);
        self
    }

    /// Ceilings of one logical lookup call: keys, sub-calls, stitched
    /// response bytes; 0 keeps a default (65536, 4096, 64 MiB). Beyond them
    /// a lookup fails with [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().lookup_limits(1000, 16, 1 << 20);
    /// # let _ = cfg;
    /// ```
    pub fn lookup_limits(mut self, items: u32, subcalls: u32, response_bytes: u32) -> Self {
        self.raw.0.max_logical_lookup_items = items;
        self.raw.0.max_logical_lookup_subcalls = subcalls;
        self.raw.0.max_logical_lookup_response_bytes = response_bytes;
        self
    }

    /// POSIX: the server uids this client talks to. Empty (the default):
    /// the run directory's owner, root, or this process's user.
    ///
    /// ```
    /// let cfg = netipc::ClientConfig::new().allowed_server_uids(&[0, 201]);
    /// # let _ = cfg;
    /// ```
    pub fn allowed_server_uids(mut self, uids: &[u32]) -> Self {
        self.allowed_server_uids = uids.to_vec();
        self
    }

    /// The C structure, borrowing the uid list of `self` (the C library
    /// copies it at creation).
    pub(crate) fn to_raw(&self) -> ffi::nipc_client_config_t {
        let mut raw = self.raw.0;
        if !self.allowed_server_uids.is_empty() {
            raw.allowed_server_uids = self.allowed_server_uids.as_ptr();
            raw.allowed_server_uid_count =
                u32::try_from(self.allowed_server_uids.len()).unwrap_or(u32::MAX);
        }
        raw
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.raw.0;
        f.debug_struct("ClientConfig")
            .field("supported_profiles", &Profiles(r.supported_profiles))
            .field("preferred_profiles", &Profiles(r.preferred_profiles))
            .field("exact_profiles", &(r.exact_profiles != 0))
            .field("max_request_payload_bytes", &r.max_request_payload_bytes)
            .field("max_request_batch_items", &r.max_request_batch_items)
            .field("max_response_payload_bytes", &r.max_response_payload_bytes)
            .field("max_payload_ceiling", &r.max_payload_ceiling)
            .field(
                "auth_token",
                &if r.auth_token != 0 { "set" } else { "none" },
            )
            .field("call_timeout_ms", &r.call_timeout_ms)
            .field("handshake_timeout_ms", &r.handshake_timeout_ms)
            .field("shm_attach_timeout_ms", &r.shm_attach_timeout_ms)
            .field("max_logical_lookup_items", &r.max_logical_lookup_items)
            .field(
                "max_logical_lookup_subcalls",
                &r.max_logical_lookup_subcalls,
            )
            .field(
                "max_logical_lookup_response_bytes",
                &r.max_logical_lookup_response_bytes,
            )
            .field("allowed_server_uids", &self.allowed_server_uids)
            .finish()
    }
}

/// Configuration of a [`Server`](crate::Server) (`nipc_server_config_t`).
/// The default leaves every field to the library's default: baseline
/// transport, 1024-byte requests, 64 KiB responses, 64 sessions.
///
/// ```
/// use netipc::{Profiles, ServerConfig};
/// let cfg = ServerConfig::new()
///     .profiles(Profiles::BASELINE | Profiles::SHM_HYBRID)
///     .max_sessions(16);
/// # let _ = cfg;
/// ```
#[derive(Clone, Default)]
pub struct ServerConfig {
    raw: RawServerConfig,
    allowed_uids: Vec<u32>,
}

#[derive(Clone, Copy)]
struct RawServerConfig(ffi::nipc_server_config_t);

impl Default for RawServerConfig {
    fn default() -> Self {
        RawServerConfig(ffi::nipc_server_config_t {
            supported_profiles: 0,
            preferred_profiles: 0,
            max_request_payload_bytes: 0,
            max_request_batch_items: 0,
            max_response_payload_bytes: 0,
            auth_token: 0,
            max_sessions: 0,
            handshake_timeout_ms: 0,
            allowed_uids: std::ptr::null(),
            allowed_uid_count: 0,
            exact_profiles: 0,
        })
    }
}

impl ServerConfig {
    /// The library defaults.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new();
    /// # let _ = cfg;
    /// ```
    pub fn new() -> ServerConfig {
        ServerConfig::default()
    }

    /// Profiles this server supports; none = the baseline only.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().profiles(netipc::Profiles::SHM_HYBRID);
    /// # let _ = cfg;
    /// ```
    pub fn profiles(mut self, supported: Profiles) -> Self {
        self.raw.0.supported_profiles = supported.bits();
        self
    }

    /// Profiles this server prefers; none = the supported set.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().preferred_profiles(netipc::Profiles::BASELINE);
    /// # let _ = cfg;
    /// ```
    pub fn preferred_profiles(mut self, preferred: Profiles) -> Self {
        self.raw.0.preferred_profiles = preferred.bits();
        self
    }

    /// Advertise the profiles exactly as given (see
    /// [`ClientConfig::exact_profiles`]).
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().exact_profiles(true);
    /// # let _ = cfg;
    /// ```
    pub fn exact_profiles(mut self, exact: bool) -> Self {
        self.raw.0.exact_profiles = i32::from(exact);
        self
    }

    /// The largest request payload a client may propose; 0 = 1024.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().max_request_payload(1 << 16);
    /// # let _ = cfg;
    /// ```
    pub fn max_request_payload(mut self, bytes: u32) -> Self {
        self.raw.0.max_request_payload_bytes = bytes;
        self
    }

    /// Items accepted in one INCREMENT batch; 0 = 1.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().max_request_batch_items(1000);
    /// # let _ = cfg;
    /// ```
    pub fn max_request_batch_items(mut self, items: u32) -> Self {
        self.raw.0.max_request_batch_items = items;
        self
    }

    /// The response payload every client gets; 0 = 65536.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().max_response_payload(1 << 20);
    /// # let _ = cfg;
    /// ```
    pub fn max_response_payload(mut self, bytes: u32) -> Self {
        self.raw.0.max_response_payload_bytes = bytes;
        self
    }

    /// The token clients must send.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().auth_token(0xfeed);
    /// # let _ = cfg;
    /// ```
    pub fn auth_token(mut self, token: u64) -> Self {
        self.raw.0.auth_token = token;
        self
    }

    /// Concurrent sessions, one thread each; 0 = 64. A client beyond the
    /// limit gets [`ErrorKind::Busy`](crate::ErrorKind::Busy).
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().max_sessions(4);
    /// # let _ = cfg;
    /// ```
    pub fn max_sessions(mut self, sessions: u32) -> Self {
        self.raw.0.max_sessions = sessions;
        self
    }

    /// Silent clients are dropped after this; 5 s if not set.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().handshake_timeout(std::time::Duration::from_secs(1));
    /// # let _ = cfg;
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.raw.0.handshake_timeout_ms = millis(timeout);
        self
    }

    /// POSIX: admit only clients with these uids; empty (the default) = no
    /// check beyond the run directory's and socket's permissions.
    ///
    /// ```
    /// let cfg = netipc::ServerConfig::new().allowed_uids(&[201]);
    /// # let _ = cfg;
    /// ```
    pub fn allowed_uids(mut self, uids: &[u32]) -> Self {
        self.allowed_uids = uids.to_vec();
        self
    }

    /// The C structure, borrowing the uid list of `self` (the C library
    /// copies it at creation).
    pub(crate) fn to_raw(&self) -> ffi::nipc_server_config_t {
        let mut raw = self.raw.0;
        if !self.allowed_uids.is_empty() {
            raw.allowed_uids = self.allowed_uids.as_ptr();
            raw.allowed_uid_count = u32::try_from(self.allowed_uids.len()).unwrap_or(u32::MAX);
        }
        raw
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.raw.0;
        f.debug_struct("ServerConfig")
            .field("supported_profiles", &Profiles(r.supported_profiles))
            .field("preferred_profiles", &Profiles(r.preferred_profiles))
            .field("exact_profiles", &(r.exact_profiles != 0))
            .field("max_request_payload_bytes", &r.max_request_payload_bytes)
            .field("max_request_batch_items", &r.max_request_batch_items)
            .field("max_response_payload_bytes", &r.max_response_payload_bytes)
            .field(
                "auth_token",
                &if r.auth_token != 0 { "set" } else { "none" },
            )
            .field("max_sessions", &r.max_sessions)
            .field("handshake_timeout_ms", &r.handshake_timeout_ms)
            .field("allowed_uids", &self.allowed_uids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_never_turns_a_duration_into_the_default() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(10)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }

    #[test]
    fn profiles_debug_names_bits() {
        let p = Profiles::BASELINE | Profiles::SHM_HYBRID | Profiles::from_bits(0x80);
        assert_eq!(format!("{:?}", p), "Profiles(BASELINE | SHM_HYBRID | 0x80)");
        assert_eq!(format!("{:?}", Profiles::NONE), "Profiles(0x0)");
    }

    #[test]
    fn uid_lists_reach_the_c_structure() {
        let c = ClientConfig::new().allowed_server_uids(&[1, 2]).to_raw();
        assert_eq!(c.allowed_server_uid_count, 2);
        let s = ServerConfig::new().to_raw();
        assert!(s.allowed_uids.is_null());
        assert_eq!(s.allowed_uid_count, 0);
    }
}
