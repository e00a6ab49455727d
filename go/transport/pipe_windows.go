package transport

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	netipc "github.com/netdata/netipc/go"
)

// Named Pipe baseline transport (Windows): pipe naming, listener instances,
// accept, connect and packet I/O with deadlines. One pipe message is one
// protocol packet: one WriteFile sends it, one ReadFile receives it.
//
// As in the C library every pipe handle is opened for overlapped I/O and a
// pending operation is waited for with a deadline, in slices of at most
// 100 ms so a cancelled context is noticed; on timeout or cancellation it is
// cancelled (CancelIoEx) and its completion collected, so a packet that
// arrived in that instant is still returned. The bytes on the pipe are the
// same as with upstream's synchronous handles. The listener keeps a backlog
// of instances with pending ConnectNamedPipe calls; a client that finds
// every instance busy reports BUSY, which Connect retries within its
// handshake deadline. A server session is closed with CloseHandle alone, so
// data written before stays readable by the client (a rejection ACK is not
// lost).

const (
	pipeAutoPacket = 65536
	pipeMinBuffer  = 65536
	pipeNameMax    = 255
	pipeBacklogMax = 63
)

// FNV1a64 is the name hash of the Windows transports (windows.md).
func FNV1a64(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x00000100000001b3
	}
	return h
}

// PipeName is \\.\pipe\netipc-{FNV1a64(run_dir):016x}-{service}.
func PipeName(runDir, service string) (string, error) {
	if runDir == "" {
		return "", netipc.ErrInvalidArgument
	}
	if !ValidServiceName(service) {
		return "", netipc.ErrBadServiceName
	}
	n := fmt.Sprintf(`\\.\pipe\netipc-%016x-%s`, FNV1a64(runDir), service)
	if len(n) > pipeNameMax {
		return "", netipc.ErrPathTooLong
	}
	return n, nil
}

func isDisconnect(e syscall.Errno) bool {
	return e == syscall.ERROR_BROKEN_PIPE || e == errorNoData || e == errorPipeNotConnected
}

func pipeFail(op string, e syscall.Errno) error {
	if isDisconnect(e) {
		return &netipc.Error{Op: op, Code: netipc.ErrDisconnected, Err: e}
	}
	return &netipc.Error{Op: op, Code: netipc.ErrIO, Err: e}
}

type pipeConn struct {
	h      syscall.Handle
	ev     syscall.Handle // manual reset; one operation at a time
	ov     syscall.Overlapped
	buf    []byte // gather / scatter buffer, sized by reserve
	desync bool   // a packet was left half read: message boundaries are lost
	closed bool
	// skipRest reads into this: the kernel writes it after ReadFile
	// returns, so it lives on the heap with the conn, not on a stack
	// that may move.
	skip [512]byte
}

func newPipeConn(h syscall.Handle) (*pipeConn, error) {
	ev, e := createEvent(true, nil)
	if ev == 0 {
		syscall.CloseHandle(h)
		return nil, &netipc.Error{Op: "pipe", Code: netipc.ErrIO, Err: e}
	}
	return &pipeConn{h: h, ev: ev}, nil
}

func (c *pipeConn) result(n *uint32) error {
	e := getOverlappedResult(c.h, &c.ov, n, false)
	switch {
	case e == 0:
		return nil
	case e == syscall.ERROR_MORE_DATA:
		return netipc.ErrTooLarge
	}
	return pipeFail("pipe", e)
}

// cancel cancels the pending operation and collects it: the OVERLAPPED and
// the buffer must not be released while the kernel may still write them.
func (c *pipeConn) cancel(n *uint32, why error) error {
	syscall.CancelIoEx(c.h, &c.ov)
	*n = 0
	e := getOverlappedResult(c.h, &c.ov, n, true)
	switch {
	case e == 0:
		return nil
	case e == syscall.ERROR_MORE_DATA:
		return netipc.ErrTooLarge
	case e == syscall.ERROR_OPERATION_ABORTED:
		if *n == 0 {
			return why
		}
		return &netipc.Error{Op: "pipe", Code: netipc.ErrIO, Err: e}
	}
	return pipeFail("pipe", e)
}

func (c *pipeConn) wait(ctx context.Context, deadline time.Time, n *uint32) error {
	for {
		if err := ctxErr(ctx); err != nil {
			return c.cancel(n, err)
		}
		now := time.Now()
		end, expired := slice(now, deadline)
		if expired {
			return c.cancel(n, netipc.ErrTimeout)
		}
		ms := uint32(end.Sub(now) / time.Millisecond)
		r, _ := syscall.WaitForSingleObject(c.ev, ms)
		switch r {
		case waitObject0:
			return c.result(n)
		case waitTimeout:
			continue
		}
		return c.cancel(n, netipc.ErrIO)
	}
}

func (c *pipeConn) finish(ctx context.Context, err error, deadline time.Time, n *uint32) error {
	if err == nil {
		return c.result(n)
	}
	switch e := errnoOf(err); e {
	case syscall.ERROR_IO_PENDING:
		return c.wait(ctx, deadline, n)
	case syscall.ERROR_MORE_DATA:
		return c.result(n)
	default:
		return pipeFail("pipe", e)
	}
}

func (c *pipeConn) send(ctx context.Context, a, b []byte, deadline time.Time) error {
	pkt := a
	if len(b) > 0 {
		// One message = one WriteFile: gather the parts.
		need := len(a) + len(b)
		if need > len(c.buf) {
			c.buf = make([]byte, need)
		}
		copy(c.buf, a)
		copy(c.buf[len(a):], b)
		pkt = c.buf[:need]
	}
	if len(pkt) == 0 || len(pkt) > 0x7fffffff {
		return netipc.ErrInvalidArgument
	}
	c.ov = syscall.Overlapped{HEvent: c.ev}
	var n uint32
	err := c.finish(ctx, syscall.WriteFile(c.h, pkt, &n, &c.ov), deadline, &n)
	if err == nil && int(n) != len(pkt) {
		return netipc.ErrIO // message pipes write whole messages
	}
	return err
}

func (c *pipeConn) recv(ctx context.Context, a, b []byte, deadline time.Time) (int, error) {
	if c.desync {
		return 0, netipc.ErrIO
	}
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	dst := a
	if len(b) > 0 {
		// One message = one ReadFile: read whole, then scatter.
		need := len(a) + len(b)
		if need > len(c.buf) {
			c.buf = make([]byte, need)
		}
		dst = c.buf[:need]
	}
	c.ov = syscall.Overlapped{HEvent: c.ev}
	var n uint32
	err := c.finish(ctx, syscall.ReadFile(c.h, dst, &n, &c.ov), deadline, &n)
	if err != nil && err != netipc.ErrTooLarge {
		return 0, err
	}
	if err == nil && n == 0 {
		return 0, netipc.ErrDisconnected // peers never send empty messages
	}
	if err == netipc.ErrTooLarge {
		c.desync = true // the rest of that message is still queued
	}
	if len(b) > 0 {
		k := copy(a, dst[:n])
		if int(n) > k {
			copy(b, dst[k:n])
		}
	}
	return int(n), err
}

func (c *pipeConn) skipRest(ctx context.Context, deadline time.Time) error {
	for c.desync {
		c.ov = syscall.Overlapped{HEvent: c.ev}
		var n uint32
		err := c.finish(ctx, syscall.ReadFile(c.h, c.skip[:], &n, &c.ov), deadline, &n)
		if err == nil {
			c.desync = false // that was the message's last piece
		} else if err != netipc.ErrTooLarge {
			return err
		}
	}
	return nil
}

func (c *pipeConn) autoPacketSize() uint32 { return pipeAutoPacket }

func (c *pipeConn) reserve(maxPacket int) error {
	if maxPacket > len(c.buf) {
		c.buf = make([]byte, maxPacket)
	}
	return nil
}

func (c *pipeConn) peerGone() bool {
	var avail uint32
	r, _, _ := procPeekNamedPipe.Call(uintptr(c.h), 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	return r == 0 // broken, closing, disconnected, or the handle failed
}

func (c *pipeConn) close() {
	if c.closed {
		return
	}
	c.closed = true
	// Client or server: CloseHandle alone (see the top of this file).
	syscall.CloseHandle(c.h)
	syscall.CloseHandle(c.ev)
}

func dial(runDir, service string) (conn, error) {
	name, err := PipeName(runDir, service)
	if err != nil {
		return nil, err
	}
	// SECURITY_IDENTIFICATION: the server may learn who we are but never
	// act as us.
	h, err := syscall.CreateFile(wstr(name), syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_EXISTING, fileFlagOverlapped|securitySQOSPresent|securityIdentification, 0)
	if err != nil {
		e := errnoOf(err)
		if e == errorPipeBusy {
			return nil, &netipc.Error{Op: "connect", Code: netipc.ErrBusy, Err: e}
		}
		return nil, &netipc.Error{Op: "connect", Code: netipc.ErrNotFound, Err: e}
	}
	mode := uint32(pipeReadmodeMessage)
	if r, _, e := procSetNamedPipeHandleState.Call(uintptr(h), uintptr(unsafe.Pointer(&mode)), 0, 0); r == 0 {
		syscall.CloseHandle(h)
		return nil, &netipc.Error{Op: "connect", Code: netipc.ErrNotFound, Err: e}
	}
	return newPipeConn(h)
}

// peerPolicy: Windows has no run-dir permissions or peer uids to check;
// the pipe name carries the run dir and the SHM names the token.
type peerPolicy struct{}

func clientPolicy(runDir string, cfg *Config) (*peerPolicy, error) { return &peerPolicy{}, nil }
func (p *peerPolicy) checkConn(c conn) error                       { return nil }

// ----------------------------------------------------------------- listener

type pipeSlot struct {
	instance syscall.Handle // 0 when it must be created again
	event    syscall.Handle // manual reset: ConnectNamedPipe completed
	ov       syscall.Overlapped
	pending  bool
}

// Listener is a server endpoint: a backlog of pipe instances.
type Listener struct {
	mu       sync.Mutex // one Accept at a time; Close waits for it
	name     *uint16
	wake     syscall.Handle
	bufSize  uint32
	slots    []*pipeSlot
	next     int
	closed   int32
	runDir   string
	service  string
	released bool
}

func createInstance(name *uint16, bufSize uint32, first bool) (syscall.Handle, syscall.Errno) {
	open := uint32(pipeAccessDuplex | fileFlagOverlapped)
	if first {
		open |= fileFlagFirstPipeInstance // a live server keeps its name
	}
	mode := uint32(pipeTypeMessage | pipeReadmodeMessage | pipeWait | pipeRejectRemoteClients)
	h, _, e := procCreateNamedPipeW.Call(uintptr(unsafe.Pointer(name)), uintptr(open), uintptr(mode),
		pipeUnlimitedInstances, uintptr(bufSize), uintptr(bufSize), 0, 0)
	if syscall.Handle(h) == syscall.InvalidHandle {
		return 0, errnoOf(e)
	}
	return syscall.Handle(h), 0
}

// Listen creates the endpoint for (runDir, service): the first pipe
// instance claims the name (ADDRESS_IN_USE when a live server holds it);
// nothing is ever stale on Windows.
func Listen(runDir, service string, cfg *Config) (*Listener, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	name, err := PipeName(runDir, service)
	if err != nil {
		return nil, err
	}
	packet := or32(cfg.PacketSize, pipeAutoPacket)
	if packet < pipeMinBuffer {
		packet = pipeMinBuffer
	}
	backlog := cfg.Backlog
	if backlog <= 0 {
		backlog = BacklogDefault
	}
	if backlog > pipeBacklogMax {
		backlog = pipeBacklogMax
	}
	l := &Listener{name: wstr(name), bufSize: packet, runDir: runDir, service: service}
	wake, e := createEvent(false, nil)
	if wake == 0 {
		return nil, &netipc.Error{Op: "listen", Code: netipc.ErrIO, Err: e}
	}
	l.wake = wake
	for i := 0; i < backlog; i++ {
		ev, e := createEvent(true, nil)
		if ev == 0 {
			l.release()
			return nil, &netipc.Error{Op: "listen", Code: netipc.ErrIO, Err: e}
		}
		s := &pipeSlot{event: ev}
		l.slots = append(l.slots, s)
		h, e := createInstance(l.name, l.bufSize, i == 0)
		if h == 0 {
			l.release()
			if i == 0 && (e == syscall.ERROR_ACCESS_DENIED || e == errorPipeBusy) {
				return nil, &netipc.Error{Op: "listen", Code: netipc.ErrAddressInUse, Err: e}
			}
			return nil, &netipc.Error{Op: "listen", Code: netipc.ErrIO, Err: e}
		}
		s.instance = h
	}
	return l, nil
}

func (l *Listener) arm(s *pipeSlot) (bool, error) {
	if s.instance == 0 {
		h, e := createInstance(l.name, l.bufSize, false)
		if h == 0 {
			return false, &netipc.Error{Op: "accept", Code: netipc.ErrIO, Err: e}
		}
		s.instance = h
	}
	for !s.pending {
		s.ov = syscall.Overlapped{HEvent: s.event}
		resetEvent(s.event)
		r, _, err := procConnectNamedPipe.Call(uintptr(s.instance), uintptr(unsafe.Pointer(&s.ov)))
		if r != 0 {
			return true, nil
		}
		switch e := errnoOf(err); e {
		case syscall.ERROR_IO_PENDING:
			s.pending = true
		case errorPipeConnected:
			return true, nil
		case errorNoData:
			procDisconnectNamedPipe.Call(uintptr(s.instance)) // came and went: recycle
		default:
			syscall.CloseHandle(s.instance)
			s.instance = 0
			return false, &netipc.Error{Op: "accept", Code: netipc.ErrIO, Err: e}
		}
	}
	return false, nil
}

// collect: 1 connected, 0 arm again, -1 error.
func (l *Listener) collect(s *pipeSlot) int {
	var n uint32
	s.pending = false
	e := getOverlappedResult(s.instance, &s.ov, &n, false)
	switch {
	case e == 0, e == errorPipeConnected:
		return 1
	case e == syscall.ERROR_OPERATION_ABORTED:
		return 0
	case e == errorNoData, e == syscall.ERROR_BROKEN_PIPE:
		procDisconnectNamedPipe.Call(uintptr(s.instance))
		return 0
	}
	syscall.CloseHandle(s.instance)
	s.instance = 0
	return -1
}

func (l *Listener) take(s *pipeSlot) (*Pending, error) {
	h := s.instance
	s.instance, _ = createInstance(l.name, l.bufSize, false)
	c, err := newPipeConn(h)
	if err != nil {
		return nil, err
	}
	return &Pending{conn: c, runDir: l.runDir, service: l.service}, nil
}

// Accept waits for a connection and returns it without reading from it.
// It returns when one arrives, when ctx ends (TIMEOUT / ABORTED) or when
// the listener is closed (ABORTED).
func (l *Listener) Accept(ctx context.Context) (*Pending, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if atomic.LoadInt32(&l.closed) != 0 {
			return nil, netipc.ErrAborted
		}
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		hs := make([]syscall.Handle, 0, len(l.slots)+1)
		armed := make([]*pipeSlot, 0, len(l.slots))
		var firstErr error
		for k := range l.slots {
			i := (l.next + k) % len(l.slots)
			s := l.slots[i]
			connected, err := l.arm(s)
			if connected {
				l.next = (i + 1) % len(l.slots)
				return l.take(s)
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			armed = append(armed, s)
			hs = append(hs, s.event)
		}
		if len(armed) == 0 {
			return nil, firstErr
		}
		hs = append(hs, l.wake)
		now := time.Now()
		end, _ := sliceOf(acceptSlice, now, callDeadline(ctx, time.Time{}))
		r := waitMultiple(hs, uint32(end.Sub(now)/time.Millisecond))
		switch {
		case r < uint32(len(armed)):
			s := armed[r]
			switch l.collect(s) {
			case 1:
				for i, x := range l.slots {
					if x == s {
						l.next = (i + 1) % len(l.slots)
					}
				}
				return l.take(s)
			case -1:
				return nil, netipc.ErrIO
			}
		case r == uint32(len(armed)), r == waitTimeout:
			continue // woken (closed?) or a slice passed: check again
		default:
			return nil, netipc.ErrIO
		}
	}
}

func (l *Listener) release() {
	if l.released {
		return
	}
	l.released = true
	for _, s := range l.slots {
		if s.instance != 0 {
			if s.pending {
				var n uint32
				syscall.CancelIoEx(s.instance, &s.ov)
				getOverlappedResult(s.instance, &s.ov, &n, true)
			}
			syscall.CloseHandle(s.instance)
		}
		if s.event != 0 {
			syscall.CloseHandle(s.event)
		}
	}
	if l.wake != 0 {
		syscall.CloseHandle(l.wake)
	}
}

// Close closes the listener (waking a blocked Accept) and its instances.
func (l *Listener) Close() error {
	if !atomic.CompareAndSwapInt32(&l.closed, 0, 1) {
		return nil
	}
	setEvent(l.wake)
	l.mu.Lock() // wait for a running Accept to leave
	defer l.mu.Unlock()
	l.release()
	return nil
}

// CleanupStaleSHM is a no-op on Windows: kernel objects vanish with their
// last handle, so nothing is ever stale.
func CleanupStaleSHM(runDir, service string) (int, error) {
	if !ValidServiceName(service) {
		return 0, netipc.ErrBadServiceName
	}
	return 0, nil
}
