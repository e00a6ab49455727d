// Package transport is netipc Level 1: sessions between one client and one
// server over the platform's baseline transport (UDS SEQPACKET on Linux,
// Named Pipe on Windows) with an optional shared-memory data plane (Linux
// SHM, Windows SHM). The API is the same on both platforms; the service
// layer never needs to know which transport carries a session.
//
// Level 1 owns endpoints, listen / accept / connect, the HELLO handshake and
// its deadline, framing, chunking, batch-directory checks, message-id
// tracking and the SHM data plane. It never interprets payloads, never
// retries and never reconnects (package service does).
//
// A Session is used by one goroutine at a time; distinct sessions are
// independent. Every blocking call takes a context (cancellation aborts the
// call within one wait slice of at most 100 ms; a context deadline bounds
// it) and an explicit deadline (zero = none) so that steady-state calls need
// no per-call context allocation. Buffers are allocated when a session is
// set up; Send and Receive never allocate.
package transport

import (
	"context"
	"errors"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// Defaults.
const (
	HandshakeTimeoutDefault = 5 * time.Second
	SHMAttachTimeoutDefault = 5 * time.Second
	MaxInFlightDefault      = 128
	BacklogDefault          = 16

	// waitSlice bounds every wait for a peer, so that a cancelled context,
	// a stopping server or a dead SHM peer is noticed.
	waitSlice = 100 * time.Millisecond
	// acceptSlice bounds an Accept wait: Close wakes it at once, a cancelled
	// context is noticed within this (a longer slice than waitSlice: every
	// expired wait costs the runtime a few allocations, and an idle server
	// waits here all day).
	acceptSlice       = time.Second
	shmAttachRetry    = 5 * time.Millisecond
	connectRetry      = 2 * time.Millisecond
	maxShmAreaCeiling = protocol.MaxAckPayload + protocol.HeaderSize // largest area a client maps
)

// Config holds session parameters for either side. Zero means "default"
// everywhere: profiles BASELINE, payload limits 1024 bytes, batch limits 1,
// packet size automatic (UDS: SO_SNDBUF - 32; Named Pipe: 65536).
//
// Client: the values are the HELLO proposal. Server: supported / preferred
// profiles (preferred 0 = the supported set, as upstream servers run),
// MaxRequestPayload is the ceiling a client may propose, MaxResponsePayload
// is what every client gets; batch fields are not used by the handshake.
type Config struct {
	SupportedProfiles  uint32
	PreferredProfiles  uint32
	MaxRequestPayload  uint32
	MaxRequestBatch    uint32
	MaxResponsePayload uint32
	MaxResponseBatch   uint32
	AuthToken          uint64
	PacketSize         uint32        // 0 = automatic
	HandshakeTimeout   time.Duration // 0 = 5 s; bounds a silent peer
	SHMAttachTimeout   time.Duration // client: retry window for a region not ready yet; 0 = 5 s
	MaxInFlight        uint32        // client: pipelined requests tracked; 0 = 128

	// Server (POSIX): admit only peers whose uid is listed; nil = anyone who
	// can open the socket (the run dir and the 0600 socket protect it).
	AllowedUIDs []uint32
	// Client (POSIX): the uids a server may run as. nil = the run dir's
	// owner, root, or this process's effective uid.
	ServerUIDs []uint32
	// Server: listen backlog, 0 = 16.
	Backlog int
}

func or32(v, def uint32) uint32 {
	if v != 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// ValidServiceName reports whether name matches [A-Za-z0-9._-]+ and is not
// "." or "..".
func ValidServiceName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SessionInfo is what a session agreed on.
type SessionInfo struct {
	IsServer            bool
	SelectedProfile     uint32 // the profile bit actually in use
	MaxRequestPayload   uint32
	MaxRequestBatch     uint32
	MaxResponsePayload  uint32
	MaxResponseBatch    uint32
	PacketSize          uint32
	SessionID           uint64
	SHMRequestCapacity  uint32 // 0 when the session runs on the baseline
	SHMResponseCapacity uint32
	ServerProfiles      uint32 // every profile the server supports (from its HELLO_ACK)
}

// Message is a received message. Payload aliases the session's receive
// buffer: it is valid until the next Receive or Close on that session.
type Message struct {
	Header  protocol.Header
	Payload []byte
}

// ---------------------------------------------------------------- deadlines

// earliest returns the earlier of a and b, treating zero as "none".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// callDeadline folds a context's deadline into an explicit one.
func callDeadline(ctx context.Context, deadline time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return earliest(deadline, d)
	}
	return deadline
}

// ctxErr maps a finished context to TIMEOUT (deadline) or ABORTED (cancel).
func ctxErr(ctx context.Context) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return netipc.ErrTimeout
	default:
		return netipc.ErrAborted
	}
}

// slice returns the end of the next wait slice and whether the deadline has
// passed already.
func slice(now, deadline time.Time) (time.Time, bool) {
	return sliceOf(waitSlice, now, deadline)
}

func sliceOf(length time.Duration, now, deadline time.Time) (time.Time, bool) {
	end := now.Add(length)
	if deadline.IsZero() {
		return end, false
	}
	if !now.Before(deadline) {
		return deadline, true
	}
	if deadline.Before(end) {
		end = deadline
	}
	return end, false
}
