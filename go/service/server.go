package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/transport"
)

// Managed server: one endpoint, one service kind, one handler. An accept
// goroutine takes connections without reading from them; each session runs
// its handshake and its requests on its own goroutine, so a silent or slow
// client never blocks the accept loop or other sessions. Beyond the session
// limit a client gets a clean rejection (HELLO_ACK with INTERNAL_ERROR,
// which clients report as BUSY) instead of an accepted-then-closed session.
//
// Per session, one request at a time: receive, dispatch to the handler,
// answer; the reaction to every malformed request follows services.md §6.
// Buffers are allocated once per session; the request loop does not
// allocate.

const (
	acceptBackoff = 10 * time.Millisecond
	// Rejections in progress at once (each waits up to the handshake
	// timeout for the client's HELLO to answer it), as in the C server.
	// When they are all busy too, the accept loop stops accepting: new
	// clients wait in the listen backlog and their connect retries until a
	// slot frees or their deadline passes, so every client that is accepted
	// gets its HELLO_ACK and none is closed without a word.
	maxRejecters  = 8
	errorSendTime = time.Second
	okSendTime    = 5 * time.Second
)

// Handlers run on session goroutines, concurrently for different sessions:
// they must be safe for concurrent use. Returning netipc.ErrBufferTooSmall
// means the answer does not fit the agreed response size (the client gets
// LIMIT_EXCEEDED and may grow); any other error is a handler failure (the
// client gets INTERNAL_ERROR).
type (
	// IncrementHandler answers one INCREMENT value.
	IncrementHandler func(value uint64) (uint64, error)
	// StringReverseHandler writes the answer for in into out and returns its
	// length. in aliases the request and is valid during the call only.
	StringReverseHandler func(in, out []byte) (int, error)
	// CgroupsSnapshotHandler builds the whole response into buf (with
	// codec.NewCgroupsBuilder) and returns its length.
	CgroupsSnapshotHandler func(buf []byte) (int, error)
	// CgroupsLookupHandler adds exactly one item per key of req, in order,
	// echoing the key, and may set the generation; the reply builder keeps
	// room for the keys still to come and replaces answers that do not fit
	// by itself. The builder's verdict comes first: an invalid item is
	// answered BAD_ENVELOPE and no room even for minimal items
	// LIMIT_EXCEEDED; then a handler error is INTERNAL_ERROR; then a short
	// answer BAD_ENVELOPE.
	CgroupsLookupHandler func(req *codec.CgroupsLookupRequest, b *codec.CgroupsLookupBuilder) error
	// AppsLookupHandler is CgroupsLookupHandler for APPS_LOOKUP.
	AppsLookupHandler func(req *codec.AppsLookupRequest, b *codec.AppsLookupBuilder) error
)

// ServerConfig configures a server; zero means the default for every field.
type ServerConfig struct {
	SupportedProfiles  uint32 // 0 = BASELINE
	PreferredProfiles  uint32 // 0 = the supported set (as upstream servers)
	MaxRequestPayload  uint32 // 0 = 1024: the largest request a client may propose
	MaxRequestBatch    uint32 // 0 = 1: batch items accepted per request
	MaxResponsePayload uint32 // 0 = 65536: what every client gets
	AuthToken          uint64
	MaxSessions        int           // concurrent sessions (a goroutine each); 0 = 64
	HandshakeTimeout   time.Duration // silent clients are dropped after this; 0 = 5 s
	AllowedUIDs        []uint32      // POSIX: admit only these peer uids; nil = no check
}

// ServerStats are a server's counters.
type ServerStats struct {
	SessionsAccepted uint64 // handshakes completed
	SessionsRejected uint64 // over the session limit or refused
	HandshakesFailed uint64 // silent, malformed or refused clients
	Requests         uint64 // requests answered OK
	RequestErrors    uint64 // requests answered with an error status
	SessionsActive   uint32
}

type method struct {
	code      uint16
	batchable bool
}

// Server is a managed server for one service kind.
type Server struct {
	listener *transport.Listener
	tcfg     transport.Config
	method   method
	maxSess  int

	inc    IncrementHandler
	rev    StringReverseHandler
	snap   CgroupsSnapshotHandler
	cgLook CgroupsLookupHandler
	apLook AppsLookupHandler

	// stopCtx ends idle waits when the server stops accepting; forceCtx
	// also aborts sends and receives in progress (a forced shutdown).
	stopCtx, forceCtx context.Context
	stop, force       context.CancelFunc

	started   int32
	wg        sync.WaitGroup // accept loop, sessions and rejecters
	active    int32
	rejecters int32
	nextSID   uint64

	accepted, rejected, hsFailed, requests, reqErrors uint64
}

func newServer(runDir, service string, cfg *ServerConfig, m method) (*Server, error) {
	if runDir == "" {
		return nil, netipc.ErrInvalidArgument
	}
	var c ServerConfig
	if cfg != nil {
		c = *cfg
	}
	s := &Server{method: m, maxSess: c.MaxSessions, nextSID: 1}
	if s.maxSess <= 0 {
		s.maxSess = ServerSessionsDefault
	}
	s.tcfg = transport.Config{
		SupportedProfiles:  or32(c.SupportedProfiles, protocol.ProfileBaseline),
		PreferredProfiles:  c.PreferredProfiles,
		MaxRequestPayload:  or32(c.MaxRequestPayload, protocol.MaxPayloadDefault),
		MaxRequestBatch:    or32(c.MaxRequestBatch, 1),
		MaxResponsePayload: or32(c.MaxResponsePayload, ResponsePayloadDefault),
		AuthToken:          c.AuthToken,
		HandshakeTimeout:   c.HandshakeTimeout,
		AllowedUIDs:        c.AllowedUIDs,
	}
	l, err := transport.Listen(runDir, service, &s.tcfg)
	if err != nil {
		return nil, err
	}
	s.listener = l
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.forceCtx, s.force = context.WithCancel(context.Background())
	return s, nil
}

// NewIncrementServer creates a server for INCREMENT (batch-aware): it
// validates, removes stale SHM files of dead sessions of this service and
// listens (ErrAddressInUse when a live server owns the endpoint). It does
// not serve until Start or Serve.
func NewIncrementServer(runDir, service string, cfg *ServerConfig, h IncrementHandler) (*Server, error) {
	if h == nil {
		return nil, netipc.ErrInvalidArgument
	}
	s, err := newServer(runDir, service, cfg, method{protocol.MethodIncrement, true})
	if s != nil {
		s.inc = h
	}
	return s, err
}

// NewStringReverseServer creates a server for STRING_REVERSE (batch-aware).
func NewStringReverseServer(runDir, service string, cfg *ServerConfig, h StringReverseHandler) (*Server, error) {
	if h == nil {
		return nil, netipc.ErrInvalidArgument
	}
	s, err := newServer(runDir, service, cfg, method{protocol.MethodStringReverse, true})
	if s != nil {
		s.rev = h
	}
	return s, err
}

// NewCgroupsSnapshotServer creates a server for CGROUPS_SNAPSHOT.
func NewCgroupsSnapshotServer(runDir, service string, cfg *ServerConfig, h CgroupsSnapshotHandler) (*Server, error) {
	if h == nil {
		return nil, netipc.ErrInvalidArgument
	}
	s, err := newServer(runDir, service, cfg, method{protocol.MethodCgroupsSnapshot, false})
	if s != nil {
		s.snap = h
	}
	return s, err
}

// NewCgroupsLookupServer creates a server for CGROUPS_LOOKUP (not
// batch-aware: a BATCH request is answered BAD_ENVELOPE).
func NewCgroupsLookupServer(runDir, service string, cfg *ServerConfig, h CgroupsLookupHandler) (*Server, error) {
	if h == nil {
		return nil, netipc.ErrInvalidArgument
	}
	s, err := newServer(runDir, service, cfg, method{protocol.MethodCgroupsLookup, false})
	if s != nil {
		s.cgLook = h
	}
	return s, err
}

// NewAppsLookupServer creates a server for APPS_LOOKUP.
func NewAppsLookupServer(runDir, service string, cfg *ServerConfig, h AppsLookupHandler) (*Server, error) {
	if h == nil {
		return nil, netipc.ErrInvalidArgument
	}
	s, err := newServer(runDir, service, cfg, method{protocol.MethodAppsLookup, false})
	if s != nil {
		s.apLook = h
	}
	return s, err
}

// Start runs the accept loop on its own goroutine and returns.
func (s *Server) Start() error {
	if !atomic.CompareAndSwapInt32(&s.started, 0, 1) {
		return netipc.ErrInvalidArgument
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop()
	}()
	return nil
}

// Serve runs the accept loop on the calling goroutine until Stop, Shutdown
// or Close (nil) or until ctx ends (ctx's error). Sessions keep running
// until Shutdown or Close. Use either Start or Serve, once.
func (s *Server) Serve(ctx context.Context) error {
	if !atomic.CompareAndSwapInt32(&s.started, 0, 1) {
		return netipc.ErrInvalidArgument
	}
	stop := make(chan struct{})
	defer close(stop)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.Stop()
		case <-stop:
		}
	}()
	s.acceptLoop()
	return ctx.Err()
}

// Stop stops accepting (the endpoint is removed) and asks sessions to end
// after their current request. It returns at once; safe from any goroutine.
func (s *Server) Stop() {
	s.stop()
	s.listener.Close()
}

// Shutdown stops the server and waits for its sessions to end. When ctx
// ends first, the remaining sessions are forced closed (blocked I/O is
// aborted) and ctx's error is returned after every goroutine has exited; a
// handler that never returns cannot be interrupted, nor can a handshake in
// progress (it ends within the handshake timeout). No goroutine of the
// server survives a Shutdown that returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.force()
		return nil
	case <-ctx.Done():
		s.force()
		<-done
		return ctx.Err()
	}
}

// Close is Shutdown with a 5 s grace period; it implements io.Closer.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return netipc.ErrTimeout
	}
	return err
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		SessionsAccepted: atomic.LoadUint64(&s.accepted),
		SessionsRejected: atomic.LoadUint64(&s.rejected),
		HandshakesFailed: atomic.LoadUint64(&s.hsFailed),
		Requests:         atomic.LoadUint64(&s.requests),
		RequestErrors:    atomic.LoadUint64(&s.reqErrors),
		SessionsActive:   uint32(atomic.LoadInt32(&s.active)),
	}
}

func (s *Server) acceptLoop() {
	for s.stopCtx.Err() == nil {
		if int(atomic.LoadInt32(&s.active)) >= s.maxSess &&
			atomic.LoadInt32(&s.rejecters) >= maxRejecters {
			time.Sleep(acceptBackoff)
			continue
		}
		// Stop closes the listener, which ends this wait at once.
		p, err := s.listener.Accept(context.Background())
		if err != nil {
			switch netipc.CodeOf(err) {
			case netipc.ErrAborted, netipc.ErrTimeout:
				return
			case netipc.ErrPeerRejected:
				atomic.AddUint64(&s.rejected, 1)
				continue
			}
			time.Sleep(acceptBackoff) // e.g. out of fds: back off instead of spinning
			continue
		}
		// Drawn before the handshake: the id names the session's SHM region.
		sid := s.nextSID
		s.nextSID++
		if int(atomic.LoadInt32(&s.active)) < s.maxSess {
			atomic.AddInt32(&s.active, 1)
			s.wg.Add(1)
			go s.session(p, sid)
			continue
		}
		// A rejecter is free: only this loop starts them, and it checked
		// above that sessions or rejecters had room (a session that ended
		// meanwhile only frees more).
		atomic.AddUint64(&s.rejected, 1)
		atomic.AddInt32(&s.rejecters, 1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer atomic.AddInt32(&s.rejecters, -1)
			p.Reject(s.forceCtx, protocol.StatusInternalError, s.tcfg.HandshakeTimeout)
		}()
	}
}

func (s *Server) session(p *transport.Pending, sid uint64) {
	defer s.wg.Done()
	defer atomic.AddInt32(&s.active, -1)
	sess, err := p.Handshake(s.forceCtx, &s.tcfg, sid)
	if err != nil {
		atomic.AddUint64(&s.hsFailed, 1)
		return
	}
	atomic.AddUint64(&s.accepted, 1)
	defer sess.Close() // also removes the session's SHM file
	s.serve(sess)
}
