//! The error type: a kind from the C library's single error list, plus the
//! operating-system error that caused it, when there was one.
use std::fmt;

use crate::ffi;

include!(concat!(env!("OUT_DIR"), "/error_kinds.rs"));

impl ErrorKind {
    /// The C code (`nipc_error_t`) of this kind.
    ///
    /// ```
    /// assert_eq!(netipc::ErrorKind::InvalidArgument.code(), 1);
    /// ```
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The kind of a C code; `None` for 0 (`NIPC_OK`) and for codes this
    /// crate does not know.
    ///
    /// ```
    /// use netipc::ErrorKind;
    /// assert_eq!(ErrorKind::from_code(0), None);
    /// assert_eq!(ErrorKind::from_code(ErrorKind::NotFound.code()), Some(ErrorKind::NotFound));
    /// ```
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        if code == 0 {
            return None;
        }
        ALL_KINDS.get(code as usize - 1).copied()
    }

    /// The C name without its prefix (`"NOT_FOUND"`), as
    /// `nipc_error_name()` gives it.
    ///
    /// ```
    /// assert_eq!(netipc::ErrorKind::NotFound.name(), "NOT_FOUND");
    /// ```
    pub fn name(self) -> &'static str {
        KIND_TEXT[self as usize - 1].0
    }

    /// The message of `nipc_strerror()`.
    ///
    /// ```
    /// assert_eq!(netipc::ErrorKind::Timeout.message(), "operation timed out");
    /// ```
    pub fn message(self) -> &'static str {
        KIND_TEXT[self as usize - 1].1
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A failed call: the library's status ([`ErrorKind`], with its C code) and,
/// when the operating system caused it, the `errno` the C library saved.
///
/// A handler returns one to make the server answer with a failure status:
/// [`ErrorKind::BufferTooSmall`] tells the client to grow its limits, any
/// other kind becomes `INTERNAL_ERROR` on the wire (the client sees
/// [`ErrorKind::RemoteInternal`]).
///
/// ```
/// use netipc::{Error, ErrorKind};
/// let e = Error::from(ErrorKind::Timeout);
/// assert_eq!(e.kind(), ErrorKind::Timeout);
/// assert_eq!(e.to_string(), "operation timed out (TIMEOUT)");
/// let boxed: Box<dyn std::error::Error> = Box::new(e);
/// assert!(boxed.to_string().contains("TIMEOUT"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    os_error: i32,
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// fn parse(v: u64) -> netipc::Result<u64> {
///     v.checked_add(1).ok_or_else(|| netipc::ErrorKind::SizeOverflow.into())
/// }
/// assert!(parse(u64::MAX).is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What went wrong.
    ///
    /// ```
    /// use netipc::{Error, ErrorKind};
    /// assert_eq!(Error::from(ErrorKind::Aborted).kind(), ErrorKind::Aborted);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The C code (`nipc_error_t`): the status the C library returned.
    ///
    /// ```
    /// use netipc::{Error, ErrorKind};
    /// assert_eq!(Error::from(ErrorKind::Io).code(), ErrorKind::Io.code());
    /// ```
    pub fn code(&self) -> u32 {
        self.kind.code()
    }

    /// The operating-system error (`errno`) behind an [`ErrorKind::Io`] or
    /// similar failure, as `nipc_last_os_error()` reported it right after
    /// the failing call; `None` when the system was not involved.
    ///
    /// ```
    /// use netipc::{Error, ErrorKind};
    /// assert!(Error::from(ErrorKind::Timeout).os_error().is_none());
    /// ```
    pub fn os_error(&self) -> Option<std::io::Error> {
        if self.os_error == 0 {
            None
        } else {
            Some(std::io::Error::from_raw_os_error(self.os_error))
        }
    }

    /// An error from a C return code, reading the thread's saved OS error.
    /// `None` for `NIPC_OK`.
    pub(crate) fn from_raw(code: ffi::nipc_error_t) -> Option<Error> {
        if code == ffi::NIPC_OK {
            return None;
        }
        // SAFETY: nipc_last_os_error() only reads a thread-local value.
        let os = unsafe { ffi::nipc_last_os_error() };
        let kind = ErrorKind::from_code(code).unwrap_or(ErrorKind::Protocol);
        Some(Error {
            kind,
            os_error: if kind == ErrorKind::Io { os } else { 0 },
        })
    }
}

/// `Ok(())` for `NIPC_OK`, else the error.
pub(crate) fn check(code: ffi::nipc_error_t) -> Result<()> {
    match Error::from_raw(code) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error { kind, os_error: 0 }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("code", &self.code());
        if self.os_error != 0 {
            d.field("os_error", &self.os_error);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind.message(), self.kind.name())?;
        if let Some(os) = self.os_error() {
            write!(f, ": {}", os)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated kinds agree with the compiled C library, code by code:
    /// same count, same names, same messages.
    #[test]
    fn kinds_match_the_c_library() {
        assert_eq!(ALL_KINDS.len() as u32 + 1, CODE_COUNT);
        for (i, kind) in ALL_KINDS.iter().enumerate() {
            let code = i as u32 + 1;
            assert_eq!(kind.code(), code);
            assert_eq!(ErrorKind::from_code(code), Some(*kind));
            // SAFETY: both functions return static strings for any code.
            let (name, msg) = unsafe {
                (
                    ffi::static_str(ffi::nipc_error_name(code)),
                    ffi::static_str(ffi::nipc_strerror(code)),
                )
            };
            assert_eq!(kind.name(), name);
            assert_eq!(kind.message(), msg);
        }
        assert_eq!(ErrorKind::from_code(CODE_COUNT), None);
        // SAFETY: as above; code 0 is NIPC_OK.
        assert_eq!(unsafe { ffi::static_str(ffi::nipc_error_name(0)) }, "OK");
    }

    #[test]
    fn display_names_kind_and_os_error() {
        let e = Error {
            kind: ErrorKind::Io,
            os_error: 2,
        };
        let s = e.to_string();
        assert!(s.starts_with("operating system I/O error (IO): "), "{}", s);
        assert_eq!(e.os_error().and_then(|o| o.raw_os_error()), Some(2));
        assert!(check(0).is_ok());
        assert_eq!(
            check(ErrorKind::Timeout.code()).unwrap_err().kind(),
            ErrorKind::Timeout
        );
    }
}
