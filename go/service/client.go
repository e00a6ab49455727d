// Package service is netipc Level 2: typed clients and managed servers.
//
// A Client binds to a service kind in a run directory, never to a process.
// Creating one does not connect and does not need the provider; the caller
// drives (re)connection with Refresh from its own loop (no hidden goroutines
// or timers) and treats ErrNotFound as a normal state. Calls are
// at-least-once: a transport failure reconnects and sends the request once
// more, so a server may see a request twice. Requests or responses that do
// not fit grow the negotiated limits by reconnecting (powers of two,
// bounded).
//
// A Server serves exactly one service kind with one handler, a goroutine per
// session up to a session limit, with library-owned buffers.
package service

import (
	"context"
	"sync/atomic"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/transport"
)

// Level 2 defaults (services.md).
const (
	CallTimeoutDefault             = 30 * time.Second
	ResponsePayloadDefault         = 65536
	GrowthCeilingDefault           = 1048576
	ServerSessionsDefault          = 64
	LookupMaxItemsDefault          = 65536
	LookupMaxSubcallsDefault       = 4096
	LookupMaxResponseBytesDefault  = 64 << 20
	reconnectAttempts              = 8
	reconnectFirstSleep            = 5 * time.Millisecond
	reconnectMaxSleep              = 40 * time.Millisecond
	growthReconnects               = 8
	handshakeTimeoutForReconnect   = transport.HandshakeTimeoutDefault
	shmProfiles                    = protocol.ProfileSHMMask
	incrementBatchEntry            = protocol.BatchEntrySize + 8
	stringReverseFixedPlusTerminal = 9
)

// State is a client's connection state.
type State int32

// Client states.
const (
	Disconnected State = iota // initial; also after Close and most connect failures
	Connecting                // only observable inside Refresh
	Ready
	NotFound     // no provider listening: normal, Refresh again later
	AuthFailed   // sticky until Close
	Incompatible // sticky until Close
	Broken       // a call failed; Refresh reconnects
)

var stateNames = [...]string{"DISCONNECTED", "CONNECTING", "READY", "NOT_FOUND", "AUTH_FAILED", "INCOMPATIBLE", "BROKEN"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "UNKNOWN"
	}
	return stateNames[s]
}

// ClientConfig configures a client; zero means the default for every field.
type ClientConfig struct {
	SupportedProfiles  uint32 // 0 = BASELINE; add protocol.ProfileSHMHybrid for SHM
	PreferredProfiles  uint32 // 0 = no preference (the server decides)
	MaxRequestPayload  uint32 // 0 = 1024; starting proposal, grows on demand
	MaxRequestBatch    uint32 // 0 = 1
	MaxResponsePayload uint32 // 0 = 65536; a hint, the server decides
	MaxPayloadCeiling  uint32 // growth bound for both directions; 0 = 1 MiB
	AuthToken          uint64
	CallTimeout        time.Duration // default bound of a call without a context deadline; 0 = 30 s
	// How long connecting keeps retrying an SHM region that is not ready
	// before giving up on SHM for good and reconnecting on the baseline;
	// 0 = 5 s.
	SHMAttachTimeout time.Duration
	// Lookup calls: most keys per logical call, most sub-calls it may be
	// split into, largest stitched response; beyond them the call fails
	// with ErrOverflow. 0 = 65536, 4096, 64 MiB.
	MaxLookupItems         uint32
	MaxLookupSubcalls      uint32
	MaxLookupResponseBytes uint32
	// POSIX: uids the provider may run as; nil = the run dir's owner,
	// root or this process's effective uid.
	ServerUIDs []uint32
}

// Status is a client's state and counters.
type Status struct {
	State              State
	LastError          error // of the last failed connect or call
	ConnectCount       uint64
	ReconnectCount     uint64
	CallCount          uint64 // successful calls (lookup sub-calls count one each)
	ErrorCount         uint64 // failed calls
	SelectedProfile    uint32 // of the current session, 0 when none
	MaxRequestPayload  uint32 // agreed, 0 when none
	MaxResponsePayload uint32 // agreed, 0 when none
}

// Client is a Level 2 client. Its calls are not safe for concurrent use:
// one call at a time (use one client per goroutine). Ready and State may be
// read from any goroutine.
type Client struct {
	runDir, service string
	cfg             ClientConfig

	// Per-connection proposals: SHM bits are dropped for good after an
	// attach failure; payload proposals only grow (reset by Close).
	supported, preferred      uint32
	reqProposal, respProposal uint32

	sess  *transport.Session
	state int32 // State, atomic
	msg   transport.Message

	reqBuf []byte // encoded request, reused across calls

	connectCount, reconnectCount, callCount, errorCount uint64
	lastError                                           error

	// call results (typed decoders write here, so calls need no closures)
	incOut     []uint64
	incOne     uint64
	strOut     []byte
	snapOut    codec.CgroupsView
	lookupBufs [2][]byte
	lookupTurn int
	lk         lookupState
}

// NewClient creates a client for (runDir, service). It never connects.
// Errors: ErrInvalidArgument (empty run dir), ErrBadServiceName.
func NewClient(runDir, service string, cfg *ClientConfig) (*Client, error) {
	if runDir == "" {
		return nil, netipc.ErrInvalidArgument
	}
	if !transport.ValidServiceName(service) {
		return nil, netipc.ErrBadServiceName
	}
	c := &Client{runDir: runDir, service: service}
	if cfg != nil {
		c.cfg = *cfg
		c.cfg.ServerUIDs = append([]uint32(nil), cfg.ServerUIDs...)
	}
	d := &c.cfg
	d.SupportedProfiles = or32(d.SupportedProfiles, protocol.ProfileBaseline)
	d.MaxRequestPayload = or32(d.MaxRequestPayload, protocol.MaxPayloadDefault)
	d.MaxRequestBatch = or32(d.MaxRequestBatch, 1)
	d.MaxResponsePayload = or32(d.MaxResponsePayload, ResponsePayloadDefault)
	d.MaxPayloadCeiling = or32(d.MaxPayloadCeiling, GrowthCeilingDefault)
	if d.CallTimeout <= 0 {
		d.CallTimeout = CallTimeoutDefault
	}
	d.MaxLookupItems = or32(d.MaxLookupItems, LookupMaxItemsDefault)
	d.MaxLookupSubcalls = or32(d.MaxLookupSubcalls, LookupMaxSubcallsDefault)
	d.MaxLookupResponseBytes = or32(d.MaxLookupResponseBytes, LookupMaxResponseBytesDefault)
	c.resetLimits()
	return c, nil
}

func or32(v, def uint32) uint32 {
	if v != 0 {
		return v
	}
	return def
}

func (c *Client) resetLimits() {
	c.supported = c.cfg.SupportedProfiles
	c.preferred = c.cfg.PreferredProfiles
	c.reqProposal = c.cfg.MaxRequestPayload
	c.respProposal = c.cfg.MaxResponsePayload
}

func (c *Client) setState(s State) { atomic.StoreInt32(&c.state, int32(s)) }

// State returns the current state (cached: no system call).
func (c *Client) State() State { return State(atomic.LoadInt32(&c.state)) }

// Ready reports whether the client is READY (cached: no system call).
func (c *Client) Ready() bool { return c.State() == Ready }

// Status returns the state and counters. Not synchronised with a call
// running on another goroutine.
func (c *Client) Status() Status {
	st := Status{State: c.State(), LastError: c.lastError, ConnectCount: c.connectCount,
		ReconnectCount: c.reconnectCount, CallCount: c.callCount, ErrorCount: c.errorCount}
	if c.sess != nil {
		i := c.sess.Info()
		st.SelectedProfile = i.SelectedProfile
		st.MaxRequestPayload = i.MaxRequestPayload
		st.MaxResponsePayload = i.MaxResponsePayload
	}
	return st
}

func (c *Client) disconnect() {
	if c.sess != nil {
		c.sess.Close()
		c.sess = nil
	}
}

// Close disconnects, drops buffers and views, clears sticky states and
// grown limits: the client is DISCONNECTED and may be refreshed again.
// Views returned by earlier calls must not be used afterwards.
func (c *Client) Close() error {
	c.disconnect()
	c.reqBuf = nil
	c.lookupBufs = [2][]byte{}
	c.resetLimits()
	c.setState(Disconnected)
	return nil
}

// tryConnect connects with the current proposals. handshake bounds the
// connect + handshake (0 = the Level 1 default).
func (c *Client) tryConnect(ctx context.Context, handshake time.Duration) error {
	c.setState(Connecting)
	for {
		if c.supported == 0 {
			// Only SHM was configured and it cannot be attached: stay
			// disconnected until Close restores the configuration.
			c.setState(Disconnected)
			if c.lastError != nil {
				return c.lastError
			}
			return netipc.ErrUnsupported
		}
		tc := transport.Config{
			SupportedProfiles:  c.supported,
			PreferredProfiles:  c.preferred,
			MaxRequestPayload:  c.reqProposal,
			MaxRequestBatch:    c.cfg.MaxRequestBatch,
			MaxResponsePayload: c.respProposal,
			MaxResponseBatch:   c.cfg.MaxRequestBatch,
			AuthToken:          c.cfg.AuthToken,
			HandshakeTimeout:   handshake,
			SHMAttachTimeout:   c.cfg.SHMAttachTimeout,
			MaxInFlight:        1, // one call at a time
			ServerUIDs:         c.cfg.ServerUIDs,
		}
		s, err := transport.Connect(ctx, c.runDir, c.service, &tc)
		if err == nil {
			c.sess = s
			c.setState(Ready)
			return nil
		}
		c.lastError = err
		if transport.IsAttachFailure(err) && c.supported&shmProfiles != 0 {
			// The server offered SHM we cannot use: baseline for good.
			c.supported &^= shmProfiles
			c.preferred &^= shmProfiles
			if c.supported != 0 {
				continue
			}
		}
		switch netipc.CodeOf(err) {
		case netipc.ErrNotFound:
			c.setState(NotFound)
		case netipc.ErrAuthFailed:
			c.setState(AuthFailed)
		case netipc.ErrUnsupported, netipc.ErrIncompatible:
			c.setState(Incompatible)
		default: // limits, busy, protocol or I/O trouble: try again later
			c.setState(Disconnected)
		}
		return err
	}
}

// Refresh drives the connection: DISCONNECTED / NOT_FOUND connect, BROKEN
// reconnects, READY / AUTH_FAILED / INCOMPATIBLE do nothing. It returns nil
// when the client is READY afterwards, else the reason (ErrNotFound is the
// normal "no provider yet"; sticky states return ErrAuthFailed /
// ErrIncompatible). It blocks for at most one connect + handshake (5 s, or
// ctx's deadline; a missing provider fails at once).
func (c *Client) Refresh(ctx context.Context) error {
	switch c.State() {
	case Disconnected, NotFound:
		if err := c.tryConnect(ctx, 0); err != nil {
			return err
		}
		c.connectCount++
	case Broken:
		c.disconnect()
		if err := c.tryConnect(ctx, 0); err != nil {
			return err
		}
		c.reconnectCount++
	case AuthFailed:
		return netipc.ErrAuthFailed
	case Incompatible:
		return netipc.ErrIncompatible
	}
	return nil
}

// ------------------------------------------------------------------- calls

type callKind int

const (
	callIncrement callKind = iota
	callIncrementBatch
	callStringReverse
	callSnapshot
	callCgroupsLookup
	callAppsLookup
)

type call struct {
	kind      callKind
	method    uint16
	flags     uint16
	itemCount uint32
	payload   []byte
}

type overflowKind int

const (
	noOverflow overflowKind = iota
	requestOverflow
	responseOverflow
)

func remoteError(status uint16) error {
	code := netipc.ErrBadResponse
	switch status {
	case protocol.StatusUnsupported:
		code = netipc.ErrUnsupported
	case protocol.StatusBadEnvelope:
		code = netipc.ErrRemoteBadEnvelope
	case protocol.StatusInternalError:
		code = netipc.ErrRemoteInternal
	}
	return &netipc.Error{Op: "call", Code: code, Status: status}
}

func (c *Client) attempt(ctx context.Context, cl *call, deadline time.Time) (overflowKind, error) {
	if !time.Now().Before(deadline) {
		return noOverflow, netipc.ErrTimeout
	}
	id := c.callCount + 1
	h := protocol.MakeHeader(protocol.KindRequest, cl.method, cl.flags, 0, 0, cl.itemCount, id)
	err := c.sess.Send(ctx, &h, cl.payload, deadline)
	if err != nil {
		if code := netipc.CodeOf(err); code == netipc.ErrLimitExceeded || code == netipc.ErrTooLarge {
			return requestOverflow, netipc.ErrOverflow
		}
		return noOverflow, err
	}
	m := &c.msg
	if err := c.sess.Receive(ctx, m, deadline); err != nil {
		return noOverflow, err
	}
	if m.Header.Kind != protocol.KindResponse || m.Header.Code != cl.method || m.Header.MessageID != id {
		return noOverflow, netipc.ErrBadResponse
	}
	if m.Header.TransportStatus == protocol.StatusLimitExceeded {
		return responseOverflow, netipc.ErrOverflow
	}
	if m.Header.TransportStatus != protocol.StatusOK {
		return noOverflow, remoteError(m.Header.TransportStatus)
	}
	return noOverflow, c.decode(cl, m)
}

func (c *Client) breakSession() {
	c.disconnect()
	c.setState(Broken)
}

func (c *Client) sticky() bool {
	s := c.State()
	return s == AuthFailed || s == Incompatible
}

// reconnectForCall makes up to 8 connect attempts, the first at once, then
// sleeping 5, 10, 20, 40, 40 ... ms between them, stopping at sticky
// failures, and never sleeping past the call deadline, which also bounds
// each handshake and SHM attach.
func (c *Client) reconnectForCall(ctx context.Context, deadline time.Time) error {
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var err error = netipc.ErrNotReady
	sleep := reconnectFirstSleep
	for i := 0; i < reconnectAttempts; i++ {
		if i > 0 {
			if !time.Now().Add(sleep).Before(deadline) {
				return netipc.ErrTimeout
			}
			time.Sleep(sleep)
			if sleep *= 2; sleep > reconnectMaxSleep {
				sleep = reconnectMaxSleep
			}
		}
		if ctx.Err() != nil {
			return netipc.ErrAborted
		}
		left := time.Until(deadline)
		if left <= 0 {
			return netipc.ErrTimeout
		}
		if left > handshakeTimeoutForReconnect {
			left = handshakeTimeoutForReconnect
		}
		if err = c.tryConnect(cctx, left); err == nil {
			c.reconnectCount++
			return nil
		}
		if c.sticky() {
			return err
		}
	}
	return err
}

func nextPow2(n uint64) uint32 {
	p := uint64(16)
	for p < n {
		p <<= 1
	}
	if p > 0xffffffff {
		return 0xffffffff
	}
	return uint32(p)
}

func grow(current uint32, wanted uint64, ceiling uint32) uint32 {
	g := nextPow2(wanted)
	if g > ceiling {
		g = ceiling
	}
	if g > current {
		return g
	}
	return current
}

// growAndReconnect grows the proposals after an overflow and reconnects at
// once. nil when a re-attempt makes sense, ErrOverflow otherwise.
func (c *Client) growAndReconnect(ctx context.Context, cl *call, kind overflowKind, growths *int, deadline time.Time) error {
	info := c.sess.Info()
	agreedReq, agreedResp := info.MaxRequestPayload, info.MaxResponsePayload
	oldReq, oldResp := c.reqProposal, c.respProposal
	if kind == requestOverflow {
		c.reqProposal = grow(c.reqProposal, uint64(len(cl.payload)), c.cfg.MaxPayloadCeiling)
	} else {
		c.respProposal = grow(c.respProposal, 2*uint64(agreedResp), c.cfg.MaxPayloadCeiling)
	}
	c.breakSession()
	if err := c.reconnectForCall(ctx, deadline); err != nil {
		// The grown proposal was refused (e.g. above the server's ceiling)
		// or nobody answered: forget it, or every later connect would
		// propose it again and fail the same way.
		c.reqProposal, c.respProposal = oldReq, oldResp
		if !c.sticky() {
			c.setState(Broken)
		}
		return netipc.ErrOverflow
	}
	info = c.sess.Info()
	grew := info.MaxRequestPayload > agreedReq || info.MaxResponsePayload > agreedResp ||
		c.reqProposal != oldReq || c.respProposal != oldResp
	if *growths++; !grew || *growths >= growthReconnects {
		c.breakSession()
		return netipc.ErrOverflow
	}
	return nil
}

func (c *Client) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.cfg.CallTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

func (c *Client) fail(err error) error {
	c.errorCount++
	c.lastError = err
	return err
}

// run executes a call with the retry and growth rules (services.md §3-§5,
// with netipc's decision to reconnect at once instead of sleeping).
func (c *Client) run(ctx context.Context, cl *call, deadline time.Time) error {
	if c.State() != Ready {
		return c.fail(netipc.ErrNotReady)
	}
	if ctx.Err() != nil {
		return c.fail(netipc.ErrAborted)
	}
	retried, growths := false, 0
	for {
		ov, err := c.attempt(ctx, cl, deadline)
		if err == nil {
			c.callCount++
			return nil
		}
		if ov != noOverflow {
			if err = c.growAndReconnect(ctx, cl, ov, &growths, deadline); err == nil {
				continue
			}
			return c.fail(err)
		}
		code := netipc.CodeOf(err)
		if code == netipc.ErrTimeout || code == netipc.ErrAborted || retried {
			c.breakSession()
			return c.fail(err)
		}
		// At-least-once: reconnect at once and send the same request (same
		// id) once more.
		retried = true
		c.breakSession()
		if rerr := c.reconnectForCall(ctx, deadline); rerr != nil {
			if rc := netipc.CodeOf(rerr); rc == netipc.ErrTimeout || rc == netipc.ErrAborted {
				err = rerr
			}
			if !c.sticky() {
				c.setState(Broken)
			}
			return c.fail(err)
		}
	}
}

// requestBuffer returns the client's request buffer with room for n bytes.
func (c *Client) requestBuffer(n int) []byte {
	if n > cap(c.reqBuf) {
		// Only when a request is bigger than any before: not the steady state.
		c.reqBuf = make([]byte, n)
	}
	return c.reqBuf[:n]
}
