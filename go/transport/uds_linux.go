package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"

	netipc "github.com/netdata/netipc/go"
)

// UDS SEQPACKET baseline transport (Linux): endpoint path, listen with
// stale-socket recovery, accept, connect, and packet I/O through the Go
// runtime's poller (net.UnixConn's RawConn), so a blocked call parks its
// goroutine instead of a thread and deadlines work as in package net. One
// SEQPACKET record is one protocol packet; sendmsg / recvmsg gather and
// scatter the two parts of a packet without copying.
//
// This file moves packets; it does not frame, chunk, handshake or track
// message ids (session.go does, for every platform).

const (
	udsFallbackPacket = 65536
	sunPathMax        = 107 // bytes of a socket path, NUL excluded (Linux)
	pollRDHUP         = 0x2000
)

func socketPath(runDir, service string) (string, error) {
	if runDir == "" {
		return "", netipc.ErrInvalidArgument
	}
	if !ValidServiceName(service) {
		return "", netipc.ErrBadServiceName
	}
	p := runDir + "/" + service + ".sock"
	if len(p) > sunPathMax {
		return "", netipc.ErrPathTooLong
	}
	return p, nil
}

func osErr(code netipc.Code, op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &netipc.Error{Op: op, Code: code, Err: errno}
	}
	return &netipc.Error{Op: op, Code: code, Err: err}
}

// ------------------------------------------------------------- connections

type udsConn struct {
	uc *net.UnixConn
	rc syscall.RawConn

	// The arguments of the system call the poller callbacks make; prepared
	// by the caller so the callbacks (made once) need no closure per call.
	msg    syscall.Msghdr
	iov    [2]syscall.Iovec
	n      uintptr
	errno  syscall.Errno
	recvFn func(fd uintptr) bool
	sendFn func(fd uintptr) bool
}

func newUDSConn(uc *net.UnixConn) (*udsConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, osErr(netipc.ErrIO, "socket", err)
	}
	u := &udsConn{uc: uc, rc: rc}
	u.recvFn = u.doRecv
	u.sendFn = u.doSend
	return u, nil
}

func (u *udsConn) setIov(a, b []byte) {
	u.iov[0], u.iov[1] = syscall.Iovec{}, syscall.Iovec{}
	if len(a) > 0 {
		u.iov[0].Base = &a[0]
		u.iov[0].SetLen(len(a))
	}
	n := 1
	if len(b) > 0 {
		u.iov[1].Base = &b[0]
		u.iov[1].SetLen(len(b))
		n = 2
	}
	u.msg = syscall.Msghdr{Iov: &u.iov[0], Iovlen: 1} // Iovlen's type differs by arch
	if n == 2 {
		u.msg.Iovlen++
	}
}

func (u *udsConn) clearIov() { u.iov[0].Base, u.iov[1].Base = nil, nil }

func (u *udsConn) doRecv(fd uintptr) bool {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&u.msg)), syscall.MSG_DONTWAIT)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EAGAIN {
			return false
		}
		u.n, u.errno = r, e
		return true
	}
}

func (u *udsConn) doSend(fd uintptr) bool {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&u.msg)),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EAGAIN {
			return false
		}
		u.n, u.errno = r, e
		return true
	}
}

// wait runs one poller operation in slices, so a cancelled ctx is noticed.
func (u *udsConn) wait(ctx context.Context, deadline time.Time, write bool) error {
	for {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		end, expired := slice(time.Now(), deadline)
		if expired {
			return netipc.ErrTimeout
		}
		var err error
		if write {
			u.uc.SetWriteDeadline(end)
			err = u.rc.Write(u.sendFn)
		} else {
			u.uc.SetReadDeadline(end)
			err = u.rc.Read(u.recvFn)
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return netipc.ErrDisconnected
		}
		return osErr(netipc.ErrIO, "poll", err)
	}
}

func errnoResult(e syscall.Errno, op string) error {
	switch e {
	case syscall.EPIPE, syscall.ECONNRESET, syscall.ENOTCONN:
		return &netipc.Error{Op: op, Code: netipc.ErrDisconnected, Err: e}
	}
	return &netipc.Error{Op: op, Code: netipc.ErrIO, Err: e}
}

func (u *udsConn) send(ctx context.Context, a, b []byte, deadline time.Time) error {
	u.setIov(a, b)
	defer u.clearIov()
	if err := u.wait(ctx, deadline, true); err != nil {
		return err
	}
	if u.errno != 0 {
		return errnoResult(u.errno, "sendmsg")
	}
	// SEQPACKET sends whole records or nothing; a short count is a fault.
	if int(u.n) != len(a)+len(b) {
		return netipc.ErrIO
	}
	return nil
}

func (u *udsConn) recv(ctx context.Context, a, b []byte, deadline time.Time) (int, error) {
	u.setIov(a, b)
	defer u.clearIov()
	if err := u.wait(ctx, deadline, false); err != nil {
		return 0, err
	}
	if u.errno != 0 {
		return 0, errnoResult(u.errno, "recvmsg")
	}
	if u.n == 0 {
		// SEQPACKET: 0 is EOF (peers never send zero-length records).
		return 0, netipc.ErrDisconnected
	}
	if u.msg.Flags&syscall.MSG_TRUNC != 0 {
		return int(u.n), netipc.ErrTooLarge
	}
	return int(u.n), nil
}

func (u *udsConn) autoPacketSize() uint32 {
	size := uint32(udsFallbackPacket)
	u.rc.Control(func(fd uintptr) {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		// [gap] Linux refuses SEQPACKET records above SO_SNDBUF - 32 with
		// EMSGSIZE; proposing that keeps every packet sendable, and peers
		// take the minimum, so the wire is unchanged.
		if err == nil && v > 64 {
			size = uint32(v) - 32
		}
	})
	return size
}

func (u *udsConn) reserve(int) error { return nil } // scatter / gather: no buffer

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

func (u *udsConn) peerGone() bool {
	gone := false
	u.rc.Control(func(fd uintptr) {
		p := pollFd{fd: int32(fd), events: syscall.EPOLLIN | pollRDHUP}
		r, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, 0)
		if e != 0 || r == 0 {
			return
		}
		if p.revents&(syscall.EPOLLHUP|syscall.EPOLLERR|pollRDHUP|0x20 /* POLLNVAL */) != 0 {
			gone = true
			return
		}
		if p.revents&syscall.EPOLLIN != 0 {
			// Data (a peer breaking the SHM protocol) or EOF: peek to tell.
			var b [1]byte
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if n == 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
				gone = true
			}
		}
	})
	return gone
}

func (u *udsConn) close() { u.uc.Close() }

// peerUID returns the uid of the process at the other end.
func (u *udsConn) peerUID() (uint32, error) {
	var cred *syscall.Ucred
	var gerr error
	if err := u.rc.Control(func(fd uintptr) {
		cred, gerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if gerr != nil {
		return 0, gerr
	}
	return cred.Uid, nil
}

// recvmsg already dropped the rest of a truncated record.
func (u *udsConn) skipRest(ctx context.Context, deadline time.Time) error { return nil }

func dial(runDir, service string) (conn, error) {
	path, err := socketPath(runDir, service)
	if err != nil {
		return nil, err
	}
	uc, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		switch errno {
		case syscall.ENOENT, syscall.ECONNREFUSED, syscall.ENOTDIR, syscall.EACCES:
			// Nobody there (or a stale file): "no provider right now".
			return nil, &netipc.Error{Op: "connect", Code: netipc.ErrNotFound, Err: errno}
		case syscall.EAGAIN:
			// A live listener with a full backlog: the caller waits for room.
			return nil, &netipc.Error{Op: "connect", Code: netipc.ErrBusy, Err: errno}
		}
		return nil, osErr(netipc.ErrIO, "connect", err)
	}
	return newUDSConn(uc)
}

// -------------------------------------------------------------- peer policy

// peerPolicy is a client's rule for who may serve it: the run dir must not
// be writable by group or others, and the server (its socket's peer uid and,
// over SHM, the region file's owner) must be one of uids.
type peerPolicy struct{ uids []uint32 }

func clientPolicy(runDir string, cfg *Config) (*peerPolicy, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(runDir, &st); err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return nil, &netipc.Error{Op: "run dir", Code: netipc.ErrNotFound, Err: err}
		}
		return nil, osErr(netipc.ErrIO, "run dir", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, &netipc.Error{Op: "run dir", Code: netipc.ErrNotFound, Err: syscall.ENOTDIR}
	}
	// Whoever can write the run dir can put a socket of their own there.
	if st.Mode&0o022 != 0 {
		return nil, &netipc.Error{Op: "run dir", Code: netipc.ErrInsecureDir, Err: syscall.EPERM}
	}
	p := &peerPolicy{uids: cfg.ServerUIDs}
	if len(p.uids) == 0 {
		p.uids = []uint32{st.Uid, 0, uint32(os.Geteuid())}
	}
	return p, nil
}

func (p *peerPolicy) allowed(uid uint32) bool {
	for _, u := range p.uids {
		if u == uid {
			return true
		}
	}
	return false
}

func (p *peerPolicy) checkConn(c conn) error {
	uid, err := c.(*udsConn).peerUID()
	if err != nil {
		return osErr(netipc.ErrPeerRejected, "peer credentials", err)
	}
	if !p.allowed(uid) {
		return &netipc.Error{Op: "peer credentials", Code: netipc.ErrPeerRejected}
	}
	return nil
}

// ----------------------------------------------------------------- listener

// Listener is a server endpoint: {run_dir}/{service}.sock.
type Listener struct {
	ln      *net.UnixListener
	path    string
	ino     uint64
	runDir  string
	service string
	allowed []uint32
	once    sync.Once
}

func checkRunDirServer(runDir string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(runDir, &st); err != nil {
		if err == syscall.ENOENT {
			return &netipc.Error{Op: "run dir", Code: netipc.ErrNotFound, Err: err}
		}
		return osErr(netipc.ErrIO, "run dir", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return &netipc.Error{Op: "run dir", Code: netipc.ErrNotFound, Err: syscall.ENOTDIR}
	}
	// Anyone who can write the run dir can replace our socket or SHM files.
	if st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return &netipc.Error{Op: "run dir", Code: netipc.ErrInsecureDir, Err: syscall.EPERM}
	}
	return nil
}

// reclaimPath is stale endpoint recovery in upstream order: a live owner
// keeps the path (ADDRESS_IN_USE); nothing there is fine; anything else
// that does not answer (dead socket, regular file, directory) is removed.
func reclaimPath(path string) error {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil { // fd exhaustion: never delete what we could not probe
		return osErr(netipc.ErrAddressInUse, "probe", err)
	}
	err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
	syscall.Close(fd)
	switch err {
	case nil:
		return netipc.ErrAddressInUse
	case syscall.ENOENT:
		return nil
	case syscall.EAGAIN, syscall.EPROTOTYPE:
		// A live listener with a full backlog, or a live socket of another
		// type: someone owns the path.
		return osErr(netipc.ErrAddressInUse, "probe", err)
	}
	err = syscall.Unlink(path)
	if err == syscall.EISDIR || err == syscall.EPERM {
		err = syscall.Rmdir(path)
	}
	if err == nil || err == syscall.ENOENT {
		return nil
	}
	return osErr(netipc.ErrAddressInUse, "reclaim", err)
}

// bindPrivate binds fd to path with mode 0600 without touching the process
// umask (which is process-wide, so changing it races other goroutines):
// bind inside a fresh private directory (0700) next to the target, chmod
// there (nobody else can reach the socket yet), then link(2) it into place,
// which fails with EEXIST instead of replacing a socket another server
// bound meanwhile; finally the temporary name and directory are removed.
// Connecting through the new name works: Unix sockets are found by inode.
func bindPrivate(fd int, runDir, path string) (uint64, error) {
	var rnd [4]byte
	rand.Read(rnd[:])
	tmpDir := filepath.Join(runDir, ".nb"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmpDir, 0o700); err != nil {
		return 0, osErr(netipc.ErrIO, "bind", err)
	}
	defer syscall.Rmdir(tmpDir)
	tmp := tmpDir + "/s"
	bindName := tmp
	if len(bindName) > sunPathMax {
		// The detour is longer than the real path: name the directory
		// through /proc instead.
		d, err := syscall.Open(tmpDir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return 0, osErr(netipc.ErrIO, "bind", err)
		}
		defer syscall.Close(d)
		bindName = "/proc/self/fd/" + itoa(d) + "/s"
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: bindName}); err != nil {
		return 0, osErr(netipc.ErrIO, "bind", err)
	}
	defer syscall.Unlink(tmp)
	if err := syscall.Chmod(tmp, 0o600); err != nil {
		return 0, osErr(netipc.ErrIO, "chmod", err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(tmp, &st); err != nil {
		return 0, osErr(netipc.ErrIO, "bind", err)
	}
	if err := syscall.Link(tmp, path); err != nil {
		if err == syscall.EEXIST { // another server won the race
			return 0, osErr(netipc.ErrAddressInUse, "bind", err)
		}
		return 0, osErr(netipc.ErrIO, "bind", err)
	}
	return st.Ino, nil
}

func itoa(v int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// Listen creates the endpoint for (runDir, service): validates the name,
// checks the run dir (it must exist, be owned by this user and not be
// writable by group or others: INSECURE_DIR), recovers a stale endpoint
// left by a dead server, refuses a live one (ADDRESS_IN_USE), creates the
// socket 0600 and removes leftover SHM files of dead sessions of this exact
// service. Errors: BAD_SERVICE_NAME, PATH_TOO_LONG, ADDRESS_IN_USE,
// INSECURE_DIR, NOT_FOUND (run dir missing), IO.
func Listen(runDir, service string, cfg *Config) (*Listener, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	path, err := socketPath(runDir, service)
	if err != nil {
		return nil, err
	}
	if err := checkRunDirServer(runDir); err != nil {
		return nil, err
	}
	if err := reclaimPath(path); err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, osErr(netipc.ErrIO, "socket", err)
	}
	ino, err := bindPrivate(fd, runDir, path)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	backlog := cfg.Backlog
	if backlog <= 0 {
		backlog = BacklogDefault
	}
	l := &Listener{path: path, ino: ino, runDir: runDir, service: service,
		allowed: append([]uint32(nil), cfg.AllowedUIDs...)}
	if err := syscall.Listen(fd, backlog); err != nil {
		syscall.Close(fd)
		l.unlink()
		return nil, osErr(netipc.ErrIO, "listen", err)
	}
	f := os.NewFile(uintptr(fd), path)
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		l.unlink()
		return nil, osErr(netipc.ErrIO, "listen", err)
	}
	l.ln = ln.(*net.UnixListener)
	l.ln.SetUnlinkOnClose(false)
	// Dead sessions of an earlier server may have left regions behind.
	CleanupStaleSHM(runDir, service)
	return l, nil
}

// unlink removes the endpoint if it is still ours.
func (l *Listener) unlink() {
	var st syscall.Stat_t
	if syscall.Lstat(l.path, &st) == nil && st.Ino == l.ino {
		syscall.Unlink(l.path)
	}
}

// Accept waits for a connection and returns it without reading anything
// from it, so a silent client never blocks the accept loop. It returns
// when one arrives, when ctx ends (TIMEOUT / ABORTED) or when the listener
// is closed (ABORTED). PEER_REJECTED for a peer outside the uid allow-list
// (already closed); IO for resource trouble (the caller backs off).
func (l *Listener) Accept(ctx context.Context) (*Pending, error) {
	for {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		// A context that can end is watched in slices; without one the wait
		// has no deadline and only Close ends it (no timer expires while a
		// server idles).
		var end time.Time
		if ctx.Done() != nil {
			end, _ = sliceOf(acceptSlice, time.Now(), callDeadline(ctx, time.Time{}))
		}
		l.ln.SetDeadline(end)
		uc, err := l.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil, netipc.ErrAborted
			}
			return nil, osErr(netipc.ErrIO, "accept", err)
		}
		c, err := newUDSConn(uc)
		if err != nil {
			return nil, err
		}
		if len(l.allowed) > 0 {
			uid, err := c.peerUID()
			ok := false
			for _, a := range l.allowed {
				ok = ok || (err == nil && a == uid)
			}
			if !ok {
				c.close()
				return nil, netipc.ErrPeerRejected
			}
		}
		return &Pending{conn: c, runDir: l.runDir, service: l.service}, nil
	}
}

// Close closes the listener (waking a blocked Accept) and removes its
// socket file. Safe to call more than once and from any goroutine.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.ln.Close()
		l.unlink()
	})
	return nil
}

// Path is the endpoint's socket path.
func (l *Listener) Path() string { return l.path }
