// Package netipc is the pure-Go implementation of netipc, the local IPC
// protocol between Netdata plugins (plugin-ipc v1, wire compatible with the
// C library in this repository).
//
// This root package holds what every layer shares: the error codes and the
// Error type that carries an operating-system error or a protocol status.
// The layers live in sub-packages, as in the C library:
//
//	protocol   the 32-byte envelope, chunk headers, batches, HELLO/HELLO_ACK
//	codec      method payloads: INCREMENT, STRING_REVERSE, CGROUPS_SNAPSHOT,
//	           CGROUPS_LOOKUP, APPS_LOOKUP
//	transport  Level 1: UDS SEQPACKET and Linux SHM, Named Pipe and Windows SHM
//	service    Level 2: typed clients and the managed server
//	cache      Level 3: the cgroups snapshot cache
//
// Every error returned by this module satisfies errors.Is against one of the
// Err* codes below, e.g. errors.Is(err, netipc.ErrNotFound).
package netipc

import (
	"errors"
	"strconv"
)

// Code is a netipc error code. The numbering is the C library's
// nipc_error_t, so a code printed by either implementation means the same.
// A Code is itself an error; the Err* constants are the sentinels to test
// with errors.Is.
type Code int

// The codes, in the C library's order (include/netipc/error.h).
const (
	OK Code = iota
	// caller mistakes and resources
	ErrInvalidArgument
	ErrBufferTooSmall
	ErrNoMemory
	ErrBadServiceName
	ErrPathTooLong
	// structural validation of received bytes
	ErrTruncated
	ErrBadMagic
	ErrBadVersion
	ErrBadHeaderLen
	ErrBadKind
	ErrBadLayout
	ErrBadFlags
	ErrBadReserved
	ErrBadAlignment
	ErrOutOfBounds
	ErrMissingNUL
	ErrEmbeddedNUL
	ErrOverlap
	ErrBadItemCount
	ErrBadStatus
	ErrBadField
	ErrSizeOverflow
	// sessions and transports
	ErrNotFound
	ErrAddressInUse
	ErrAuthFailed
	ErrUnsupported
	ErrIncompatible
	ErrLimitExceeded
	ErrHandshake
	ErrProtocol
	ErrBadChunk
	ErrDuplicateID
	ErrUnknownID
	ErrTimeout
	ErrAborted
	ErrDisconnected
	ErrIO
	ErrSHMAlloc
	ErrSHMNotReady
	ErrSHMBadSize
	ErrSHMBadProfile
	ErrTooLarge
	ErrCorrupt
	ErrInsecureDir
	ErrPeerRejected
	ErrBusy
	// Level 2 and Level 3
	ErrNotReady
	ErrOverflow
	ErrBadResponse
	ErrRemoteBadEnvelope
	ErrRemoteInternal
	ErrHandlerFailed
	ErrGenerationChanged
	codeCount
)

var codeInfo = [codeCount]struct{ name, msg string }{
	{"OK", "success"},
	{"INVALID_ARGUMENT", "invalid argument"},
	{"BUFFER_TOO_SMALL", "output buffer too small; the needed size was reported"},
	{"NO_MEMORY", "out of memory"},
	{"BAD_SERVICE_NAME", "service name must match [A-Za-z0-9._-]+ and not be '.' or '..'"},
	{"PATH_TOO_LONG", "endpoint path too long for the platform"},
	{"TRUNCATED", "input shorter than the structure it must contain"},
	{"BAD_MAGIC", "wrong magic number"},
	{"BAD_VERSION", "unsupported protocol version"},
	{"BAD_HEADER_LEN", "wrong header length"},
	{"BAD_KIND", "unknown message kind"},
	{"BAD_LAYOUT", "unsupported payload layout version"},
	{"BAD_FLAGS", "flags field must be zero"},
	{"BAD_RESERVED", "reserved field must be zero"},
	{"BAD_ALIGNMENT", "offset not 8-byte aligned"},
	{"OUT_OF_BOUNDS", "offset or length outside the payload"},
	{"MISSING_NUL", "string is not NUL-terminated"},
	{"EMBEDDED_NUL", "string contains a NUL byte"},
	{"OVERLAP", "ranges overlap or are out of order"},
	{"BAD_ITEM_COUNT", "item count does not match"},
	{"BAD_STATUS", "unknown status value"},
	{"BAD_FIELD", "field value not allowed in this combination"},
	{"SIZE_OVERFLOW", "size arithmetic overflows"},
	{"NOT_FOUND", "no provider is listening on this endpoint"},
	{"ADDRESS_IN_USE", "endpoint is owned by a live server"},
	{"AUTH_FAILED", "authentication token rejected"},
	{"UNSUPPORTED", "no common transport profile, or method not served here"},
	{"INCOMPATIBLE", "peer speaks an incompatible protocol or layout"},
	{"LIMIT_EXCEEDED", "message exceeds the negotiated limits"},
	{"HANDSHAKE", "handshake failed"},
	{"PROTOCOL", "peer violated the protocol"},
	{"BAD_CHUNK", "invalid chunk continuation"},
	{"DUPLICATE_ID", "message id already in flight"},
	{"UNKNOWN_ID", "response for a message id that is not in flight"},
	{"TIMEOUT", "operation timed out"},
	{"ABORTED", "operation aborted"},
	{"DISCONNECTED", "peer closed the session"},
	{"IO", "operating system I/O error"},
	{"SHM_ALLOC", "shared memory region could not be allocated"},
	{"SHM_NOT_READY", "shared memory region not initialised yet"},
	{"SHM_BAD_SIZE", "shared memory region has inconsistent sizes"},
	{"SHM_BAD_PROFILE", "shared memory region was created for another profile"},
	{"TOO_LARGE", "message larger than the receive buffer or shared memory area"},
	{"CORRUPT", "shared memory area holds a corrupt length"},
	{"INSECURE_DIR", "run directory is not owned by this user or is writable by others"},
	{"PEER_REJECTED", "peer credentials are not in the allow-list"},
	{"BUSY", "server session limit reached"},
	{"NOT_READY", "client is not connected; call Refresh"},
	{"OVERFLOW", "response or request does not fit even after growing the limits"},
	{"BAD_RESPONSE", "response does not match the request"},
	{"REMOTE_BAD_ENVELOPE", "server could not decode the request"},
	{"REMOTE_INTERNAL", "server handler failed"},
	{"HANDLER_FAILED", "request handler reported failure"},
	{"GENERATION_CHANGED", "provider data changed between the parts of a lookup; call again"},
}

// Error returns the code's message, prefixed with "netipc: ".
func (c Code) Error() string {
	if c < 0 || c >= codeCount {
		return "netipc: error " + strconv.Itoa(int(c))
	}
	return "netipc: " + codeInfo[c].msg
}

// Name is the code's name without prefix, as the C library's
// nipc_error_name() prints it ("TIMEOUT").
func (c Code) Name() string {
	if c < 0 || c >= codeCount {
		return "UNKNOWN"
	}
	return codeInfo[c].name
}

// Error is an error with context: the operation, the netipc code, the
// protocol transport status a peer answered (when there is one) and the
// operating-system error that caused it (when there is one). errors.Is
// matches it against its Code; errors.Unwrap returns the OS error.
type Error struct {
	Op     string // what failed, e.g. "connect", "shm attach"
	Code   Code
	Status uint16 // transport status received from the peer, 0 when none
	Err    error  // underlying OS error (syscall.Errno), or nil
}

func (e *Error) Error() string {
	s := "netipc: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	if e.Code >= 0 && e.Code < codeCount {
		s += codeInfo[e.Code].msg
	} else {
		s += "error " + strconv.Itoa(int(e.Code))
	}
	if e.Status != 0 {
		s += " (peer status " + strconv.Itoa(int(e.Status)) + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the operating-system error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Code.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// Wrap returns an *Error for code with an operation name and an optional
// OS error. A nil os error and an empty op give the bare Code.
func Wrap(code Code, op string, oserr error) error {
	if op == "" && oserr == nil {
		return code
	}
	return &Error{Op: op, Code: code, Err: oserr}
}

// CodeOf returns the netipc code of err: OK for nil, the code of a Code or
// an *Error anywhere in the chain, ErrIO for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrIO
}
