package transport

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// Linux SHM data plane: one file-backed region per session in the run dir,
// {service}-{session_id:016x}.ipcshm, with a 64-byte header, a request area
// and a response area, each holding one whole message. Publication stores
// the length and then increments the sequence number (sync/atomic: at least
// the release / acquire ordering the C library uses), then increments a
// futex word and wakes it (shared futex: the word is in a cross-process
// mapping). The consumer spins briefly, then sleeps on the futex in slices
// of at most 100 ms so it can notice a cancelled context or a dead peer.
//
// The region is allocated with fallocate, never ftruncate: on a full tmpfs a
// sparse file would turn into SIGBUS on first touch; fallocate turns it into
// an ordinary SHM_ALLOC error. A peer that shrinks the file later is caught
// by the fault guard (fault.go).

const (
	shmRegionPerProfile = false
	shmProfiles         = protocol.ProfileSHMHybrid | protocol.ProfileSHMFutex

	shmMagic     = 0x4e53484d // "NSHM"
	shmVersion   = 3
	shmHeaderLen = 64
	shmPathMax   = 255
	// Spin before sleeping: about as long as the C library's 128 CPU pause
	// instructions (Go has no pause; an atomic load of an unchanged cache
	// line takes about a nanosecond).
	shmSpinTries = 2048

	offMagic     = 0
	offVersion   = 4
	offHeaderLen = 6
	offOwnerPID  = 8
	offOwnerGen  = 12
	offReqOffset = 16
	offReqCap    = 20
	offRespOff   = 24
	offRespCap   = 28
	offReqSeq    = 32
	offRespSeq   = 40
	offReqLen    = 48
	offRespLen   = 52
	offReqSig    = 56
	offRespSig   = 60

	futexWait = 0
	futexWake = 1
)

type linuxRegion struct {
	mem                 []byte
	fd                  int
	server              bool
	path                string // server: removed on close
	reqCap, respCap     uint32
	reqOff, respOff     uint32
	localReq, localResp uint64
	spun                bool // the last consume was a spin-only try that found nothing
}

func (r *linuxRegion) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }
func (r *linuxRegion) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&r.mem[off])) }

func regionName(service string, sid uint64) string {
	return fmt.Sprintf("%s-%016x.ipcshm", service, sid)
}

func regionPath(runDir, service string, sid uint64) (string, error) {
	if !ValidServiceName(service) {
		return "", netipc.ErrBadServiceName
	}
	p := runDir + "/" + regionName(service, sid)
	if len(p) > shmPathMax {
		return "", netipc.ErrPathTooLong
	}
	return p, nil
}

func monotonicGeneration() uint32 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	g := uint32(uint64(ts.Sec) ^ (uint64(ts.Nsec) >> 10))
	if g == 0 {
		g = 1 // 0 would read as "dead"
	}
	return g
}

// ------------------------------------------------------------ stale regions

type regionState int

const (
	regionAbsent regionState = iota
	regionLive
	regionStale
	regionJunk
	regionUnknown // could not tell (e.g. out of fds): treated as live
)

func classify(path string) (regionState, syscall.Stat_t) {
	var st syscall.Stat_t
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		switch err {
		case syscall.ENOENT:
			return regionAbsent, st
		case syscall.EMFILE, syscall.ENFILE:
			return regionUnknown, st
		}
		if syscall.Lstat(path, &st) != nil {
			return regionUnknown, st
		}
		return regionJunk, st // a symlink, an unreadable file
	}
	defer syscall.Close(fd)
	if syscall.Fstat(fd, &st) != nil {
		return regionUnknown, st
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size < shmHeaderLen {
		return regionJunk, st
	}
	m, err := syscall.Mmap(fd, 0, shmHeaderLen, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return regionJunk, st
	}
	defer syscall.Munmap(m)
	state := regionStale
	func() {
		var ferr error
		defer endFault(guardFault(), &ferr)
		pid := int32(le32(m[offOwnerPID:]))
		gen := le32(m[offOwnerGen:])
		switch {
		case le32(m[offMagic:]) != shmMagic:
			state = regionJunk
		case pid > 0 && gen != 0:
			// The generation is only tested for 0, as upstream does.
			if e := syscall.Kill(int(pid), 0); e == nil || e == syscall.EPERM {
				state = regionLive
			}
		}
	}()
	return state, st
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func removeIfSame(path string, st *syscall.Stat_t) bool {
	var now syscall.Stat_t
	if syscall.Lstat(path, &now) != nil {
		return true
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return false
	}
	err := syscall.Unlink(path)
	if err == syscall.EISDIR || err == syscall.EPERM {
		err = syscall.Rmdir(path)
	}
	return err == nil || err == syscall.ENOENT
}

func reclaimIfStale(path string) bool {
	state, st := classify(path)
	switch state {
	case regionAbsent:
		return true
	case regionStale, regionJunk:
		return removeIfSame(path, &st)
	}
	return false // live, or we could not tell: never delete
}

func isRegionOf(name, service string) bool {
	if len(name) != len(service)+1+16+7 || name[:len(service)] != service || name[len(service)] != '-' {
		return false
	}
	for _, c := range name[len(service)+1 : len(service)+17] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return name[len(service)+17:] == ".ipcshm"
}

// CleanupStaleSHM removes SHM files of dead sessions of exactly service in
// runDir (never those of another service whose name starts the same way)
// and returns how many it removed.
func CleanupStaleSHM(runDir, service string) (int, error) {
	if !ValidServiceName(service) {
		return 0, netipc.ErrBadServiceName
	}
	d, err := os.Open(runDir)
	if err != nil {
		return 0, osErr(netipc.ErrIO, "cleanup", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, osErr(netipc.ErrIO, "cleanup", err)
	}
	removed := 0
	for _, n := range names {
		if !isRegionOf(n, service) {
			continue
		}
		p := runDir + "/" + n
		var st syscall.Stat_t
		existed := syscall.Lstat(p, &st) == nil
		if reclaimIfStale(p) && existed {
			removed++
		}
	}
	return removed, nil
}

// ------------------------------------------------------------------ create

func openExcl(path string) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, err
	}
	// 0600 whatever the process umask: a umask such as 0277 would leave a
	// read-only region that no client could attach.
	if err := syscall.Fchmod(fd, 0o600); err != nil {
		syscall.Close(fd)
		syscall.Unlink(path)
		return -1, err
	}
	return fd, nil
}

func shmCreate(runDir, service string, sid uint64, profile uint32, token uint64, reqCap, respCap uint32) (region, error) {
	path, err := regionPath(runDir, service, sid)
	if err != nil {
		return nil, err
	}
	if reqCap == 0 || respCap == 0 || reqCap%64 != 0 || respCap%64 != 0 {
		return nil, netipc.ErrInvalidArgument
	}
	respOff := protocol.Align64(shmHeaderLen + uint64(reqCap))
	size := respOff + uint64(respCap)
	if size > 0xffffffff {
		return nil, netipc.ErrSizeOverflow
	}
	fd, err := openExcl(path)
	if err == syscall.EEXIST {
		if !reclaimIfStale(path) {
			return nil, &netipc.Error{Op: "shm create", Code: netipc.ErrAddressInUse, Err: err}
		}
		fd, err = openExcl(path)
	}
	if err != nil {
		code := netipc.ErrIO
		if err == syscall.EEXIST {
			code = netipc.ErrAddressInUse
		}
		return nil, osErr(code, "shm create", err)
	}
	for {
		err = syscall.Fallocate(fd, 0, 0, int64(size))
		if err != syscall.EINTR {
			break
		}
	}
	var mem []byte
	if err == nil {
		mem, err = syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	}
	if err != nil {
		syscall.Close(fd)
		syscall.Unlink(path)
		// Never ftruncate as a fallback (SIGBUS on a full tmpfs).
		return nil, osErr(netipc.ErrSHMAlloc, "shm create", err)
	}
	r := &linuxRegion{mem: mem, fd: fd, server: true, path: path}
	h := mem[:shmHeaderLen]
	for i := range h {
		h[i] = 0
	}
	put32(h[offMagic:], shmMagic)
	put16(h[offVersion:], shmVersion)
	put16(h[offHeaderLen:], shmHeaderLen)
	put32(h[offOwnerPID:], uint32(os.Getpid()))
	put32(h[offOwnerGen:], monotonicGeneration())
	put32(h[offReqOffset:], shmHeaderLen)
	put32(h[offReqCap:], reqCap)
	put32(h[offRespOff:], uint32(respOff))
	put32(h[offRespCap:], respCap)
	// Publish the static fields before anyone can see sequence numbers.
	atomic.StoreUint64(r.u64(offReqSeq), 0)
	r.mapAreas()
	return r, nil
}

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
func put16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func le16(b []byte) uint16     { return uint16(b[0]) | uint16(b[1])<<8 }

func (r *linuxRegion) mapAreas() {
	r.reqOff, r.reqCap = le32(r.mem[offReqOffset:]), le32(r.mem[offReqCap:])
	r.respOff, r.respCap = le32(r.mem[offRespOff:]), le32(r.mem[offRespCap:])
	r.localReq = atomic.LoadUint64(r.u64(offReqSeq))
	r.localResp = atomic.LoadUint64(r.u64(offRespSeq))
}

// ------------------------------------------------------------------ attach

func checkRegionHeader(b []byte) error {
	if le32(b[offMagic:]) != shmMagic {
		return netipc.ErrBadMagic
	}
	if le16(b[offVersion:]) != shmVersion {
		return netipc.ErrBadVersion
	}
	if le16(b[offHeaderLen:]) != shmHeaderLen {
		return netipc.ErrBadHeaderLen
	}
	reqOff, reqCap := uint64(le32(b[offReqOffset:])), uint64(le32(b[offReqCap:]))
	respOff, respCap := uint64(le32(b[offRespOff:])), uint64(le32(b[offRespCap:]))
	size := uint64(len(b))
	switch {
	case reqOff < shmHeaderLen || respOff < shmHeaderLen || reqCap == 0 || respCap == 0:
		return netipc.ErrSHMNotReady
	case reqOff%64 != 0 || reqCap%64 != 0 || respOff%64 != 0 || respCap%64 != 0,
		respOff < protocol.Align64(reqOff+reqCap),
		reqOff+reqCap > size || respOff+respCap > size || respOff+respCap > 0xffffffff,
		// Never trust a peer's sizes: areas beyond the hard ceiling are refused.
		reqCap > maxShmAreaCeiling || respCap > maxShmAreaCeiling:
		return netipc.ErrSHMBadSize
	}
	return nil
}

func shmAttach(runDir, service string, sid uint64, profile uint32, token uint64, pol *peerPolicy) (rg region, err error) {
	path, err := regionPath(runDir, service, sid)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, osErr(netipc.ErrSHMNotReady, "shm attach", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, osErr(netipc.ErrSHMNotReady, "shm attach", err)
	}
	if pol != nil && !pol.allowed(st.Uid) {
		syscall.Close(fd)
		return nil, &netipc.Error{Op: "shm attach", Code: netipc.ErrPeerRejected}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size < shmHeaderLen || st.Size > 0xffffffff {
		syscall.Close(fd)
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size < shmHeaderLen {
			return nil, netipc.ErrSHMNotReady
		}
		return nil, netipc.ErrSHMBadSize
	}
	mem, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		syscall.Close(fd)
		return nil, osErr(netipc.ErrSHMAlloc, "shm attach", err)
	}
	r := &linuxRegion{mem: mem, fd: fd}
	err = func() (err error) {
		defer endFault(guardFault(), &err)
		if err := checkRegionHeader(mem); err != nil {
			return err
		}
		r.mapAreas()
		return nil
	}()
	if err != nil {
		r.close()
		if err == errFault {
			return nil, netipc.ErrSHMNotReady
		}
		return nil, err
	}
	return r, nil
}

func (r *linuxRegion) requestCapacity() uint32  { return r.reqCap }
func (r *linuxRegion) responseCapacity() uint32 { return r.respCap }

// -------------------------------------------------------- publish / consume

func futex(addr *uint32, op int, val uint32, ts *syscall.Timespec) syscall.Errno {
	_, _, e := syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), uintptr(op),
		uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
	return e
}

func (r *linuxRegion) publish(hdr, payload []byte) (err error) {
	defer endFault(guardFault(), &err)
	area, capacity := r.reqOff, r.reqCap
	offLen, offSeq, offSig := offReqLen, offReqSeq, offReqSig
	if r.server {
		area, capacity = r.respOff, r.respCap
		offLen, offSeq, offSig = offRespLen, offRespSeq, offRespSig
	}
	n := len(hdr) + len(payload)
	if n == 0 {
		return netipc.ErrInvalidArgument
	}
	if uint64(n) > uint64(capacity) {
		return netipc.ErrTooLarge
	}
	copy(r.mem[area:], hdr)
	copy(r.mem[int(area)+len(hdr):], payload)
	// Payload before length, length before sequence: a reader that loads
	// seq and then len sees the whole message.
	atomic.StoreUint32(r.u32(offLen), uint32(n))
	atomic.AddUint64(r.u64(offSeq), 1)
	atomic.AddUint32(r.u32(offSig), 1)
	// Wake on every publish: POSIX peers advertise no waiting flag.
	futex(r.u32(offSig), futexWake, 1, nil)
	if r.server {
		r.localResp++
	} else {
		r.localReq++
	}
	return nil
}

func (r *linuxRegion) consume(ctx context.Context, buf []byte, deadline time.Time, spinOnly bool, liveness conn) (n int, err error) {
	defer endFault(guardFault(), &err)
	// The server consumes requests, the client responses.
	area, capacity := r.respOff, r.respCap
	offLen, offSeq, offSig := offRespLen, offRespSeq, offRespSig
	local := &r.localResp
	if r.server {
		area, capacity = r.reqOff, r.reqCap
		offLen, offSeq, offSig = offReqLen, offReqSeq, offReqSig
		local = &r.localReq
	}
	seq, sig := r.u64(offSeq), r.u32(offSig)
	expected := *local + 1
	maxCopy := uint64(len(buf))
	if uint64(capacity) < maxCopy {
		maxCopy = uint64(capacity)
	}
	seen := false
	// Right after a spin-only try that found nothing, go straight to sleep.
	tries := shmSpinTries
	if r.spun {
		tries = 0
	}
	r.spun = false
	for i := 0; i < tries; i++ {
		if atomic.LoadUint64(seq) >= expected {
			seen = true
			break
		}
	}
	for !seen {
		v := atomic.LoadUint32(sig)
		if atomic.LoadUint64(seq) >= expected {
			break
		}
		// Nothing wakes the futex on cancellation: check before every sleep.
		if cerr := ctxErr(ctx); cerr != nil {
			return 0, cerr
		}
		if spinOnly { // the caller retries with a deadline
			r.spun = true
			return 0, netipc.ErrTimeout
		}
		now := time.Now()
		end, expired := slice(now, deadline)
		if expired {
			return 0, netipc.ErrTimeout
		}
		ts := syscall.NsecToTimespec(int64(end.Sub(now)))
		e := futex(sig, futexWait, v, &ts)
		// An empty slice: the peer may be gone.
		if e == syscall.ETIMEDOUT && liveness != nil && liveness.peerGone() {
			return 0, netipc.ErrDisconnected
		}
		if e == syscall.EFAULT {
			return 0, errFault
		}
		// EAGAIN (word changed), EINTR, a wake-up, a timeout: check again.
	}
	l := uint64(atomic.LoadUint32(r.u32(offLen)))
	*local = expected
	if l == 0 {
		return 0, netipc.ErrCorrupt
	}
	if l > maxCopy {
		return 0, netipc.ErrTooLarge
	}
	copy(buf, r.mem[area:uint64(area)+l])
	return int(l), nil
}

func (r *linuxRegion) close() {
	if r.mem != nil {
		syscall.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		syscall.Close(r.fd)
		r.fd = -1
	}
	if r.server && r.path != "" {
		syscall.Unlink(r.path)
	}
}
