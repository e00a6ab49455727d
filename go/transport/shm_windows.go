package transport

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// Windows SHM data plane (profiles 0x02 HYBRID and 0x04 BUSYWAIT): per
// session and profile a page-file backed named file mapping with a 128-byte
// header, a request area and a response area, each holding one whole
// message; HYBRID adds two named auto-reset events. Object names carry a
// hash of (run_dir, service, token), so only token holders derive them.
//
// Publication stores the length and increments the sequence number with
// sequentially consistent atomics (upstream: Interlocked*), then signals
// the peer's event if its waiting flag is set. The consumer spins
// spin_tries observations, then (HYBRID) raises its waiting flag and sleeps
// on its event in slices of at most 100 ms, or (BUSYWAIT) keeps polling
// with yields. Every load of the shared header is atomic (windows.md
// [gap]: upstream reads with plain loads, correct only on x86).

const (
	shmRegionPerProfile = true
	shmProfiles         = protocol.ProfileSHMHybrid | protocol.ProfileSHMBusywait

	wshmMagic      = 0x4e535748 // "NSWH"
	wshmVersion    = 3
	wshmHeaderLen  = 128
	wshmSpinTries  = 1024
	wshmSpinMax    = 65536 // a hostile region must not make us spin for minutes
	wshmMsgMax     = 0x7fffffff
	wshmNameMax    = 255
	wshmHashInMax  = 511
	woffMagic      = 0
	woffVersion    = 4
	woffHeaderLen  = 8
	woffProfile    = 12
	woffReqOffset  = 16
	woffReqCap     = 20
	woffRespOffset = 24
	woffRespCap    = 28
	woffSpinTries  = 32
	woffReqLen     = 36
	woffRespLen    = 40
	woffReqClosed  = 44 // req_client_closed
	woffReqWaiting = 48 // req_server_waiting
	woffRespClosed = 52 // resp_server_closed
	woffRespWait   = 56 // resp_client_waiting
	woffReqSeq     = 64
	woffRespSeq    = 72
)

// SHMObjectName is Local\netipc-{H:016x}-{service}-p{profile}-s{sid:016x}-{object}
// with H = FNV1a64(run_dir "\n" service "\n" decimal(token)).
func SHMObjectName(runDir, service string, token uint64, profile uint32, sid uint64, object string) (string, error) {
	if runDir == "" {
		return "", netipc.ErrInvalidArgument
	}
	if !ValidServiceName(service) {
		return "", netipc.ErrBadServiceName
	}
	in := fmt.Sprintf("%s\n%s\n%d", runDir, service, token)
	if len(in) > wshmHashInMax {
		return "", netipc.ErrPathTooLong
	}
	h := FNV1a64(in)
	if h == 0 {
		return "", netipc.ErrInvalidArgument
	}
	n := fmt.Sprintf(`Local\netipc-%016x-%s-p%d-s%016x-%s`, h, service, profile, sid, object)
	if len(n) > wshmNameMax {
		return "", netipc.ErrPathTooLong
	}
	return n, nil
}

type shmDir struct {
	area uintptr // offset in mem
	cap  uint32
	len  *int32
	seq  *int64
}

type winRegion struct {
	mapping              syscall.Handle
	base                 uintptr // the view's address, for UnmapViewOfFile
	mem                  []byte  // the view
	size                 uintptr
	server               bool
	profile              uint32
	spinTries            uint32
	reqEvent, respEvent  syscall.Handle
	reqCap, respCap      uint32
	out, in              shmDir
	ownWaiting, peerWait *int32
	ownClosed, peerClose *int32
	ownEvent, peerEvent  syscall.Handle
	outLocal, inLocal    int64
}

func (r *winRegion) p32(off uintptr) *int32 { return (*int32)(unsafe.Pointer(&r.mem[off])) }
func (r *winRegion) p64(off uintptr) *int64 { return (*int64)(unsafe.Pointer(&r.mem[off])) }

// view makes the mapped view a slice. The address comes from
// MapViewOfFile as a uintptr; reading it as a pointer-typed word (rather
// than converting the integer) is how a foreign mapping becomes Go memory.
func (r *winRegion) view(base, size uintptr) {
	r.base, r.size = base, size
	p := *(*unsafe.Pointer)(unsafe.Pointer(&base))
	r.mem = unsafe.Slice((*byte)(p), size)
}
func (r *winRegion) u32(off uintptr) uint32     { return uint32(atomic.LoadInt32(r.p32(off))) }
func (r *winRegion) st32(off uintptr, v uint32) { atomic.StoreInt32(r.p32(off), int32(v)) }

func (r *winRegion) free() {
	if r.base != 0 {
		syscall.UnmapViewOfFile(r.base)
		r.base, r.mem = 0, nil
	}
	for _, h := range []*syscall.Handle{&r.mapping, &r.reqEvent, &r.respEvent} {
		if *h != 0 {
			syscall.CloseHandle(*h)
			*h = 0
		}
	}
}

func (r *winRegion) bindRoles() {
	r.reqCap, r.respCap = r.u32(woffReqCap), r.u32(woffRespCap)
	req := shmDir{uintptr(r.u32(woffReqOffset)), r.reqCap, r.p32(woffReqLen), r.p64(woffReqSeq)}
	resp := shmDir{uintptr(r.u32(woffRespOffset)), r.respCap, r.p32(woffRespLen), r.p64(woffRespSeq)}
	if r.server {
		r.out, r.in = resp, req
		r.ownWaiting, r.peerWait = r.p32(woffReqWaiting), r.p32(woffRespWait)
		r.ownClosed, r.peerClose = r.p32(woffRespClosed), r.p32(woffReqClosed)
		r.ownEvent, r.peerEvent = r.reqEvent, r.respEvent
	} else {
		r.out, r.in = req, resp
		r.ownWaiting, r.peerWait = r.p32(woffRespWait), r.p32(woffReqWaiting)
		r.ownClosed, r.peerClose = r.p32(woffReqClosed), r.p32(woffRespClosed)
		r.ownEvent, r.peerEvent = r.respEvent, r.reqEvent
	}
	r.outLocal = atomic.LoadInt64(r.out.seq)
	r.inLocal = atomic.LoadInt64(r.in.seq)
}

func createNamedEvent(name string) (syscall.Handle, error) {
	h, e := createEvent(false, wstr(name))
	if h == 0 {
		return 0, &netipc.Error{Op: "shm create", Code: netipc.ErrIO, Err: e}
	}
	if e == syscall.ERROR_ALREADY_EXISTS {
		syscall.CloseHandle(h)
		return 0, &netipc.Error{Op: "shm create", Code: netipc.ErrAddressInUse, Err: e}
	}
	return h, nil
}

func shmCreate(runDir, service string, sid uint64, profile uint32, token uint64, reqCap, respCap uint32) (region, error) {
	if profile != protocol.ProfileSHMHybrid && profile != protocol.ProfileSHMBusywait {
		return nil, netipc.ErrInvalidArgument
	}
	if reqCap == 0 || respCap == 0 || reqCap%64 != 0 || respCap%64 != 0 {
		return nil, netipc.ErrInvalidArgument
	}
	reqOff := uint64(wshmHeaderLen)
	respOff := protocol.Align64(reqOff + uint64(reqCap))
	size := respOff + uint64(respCap)
	if size > 0xffffffff {
		return nil, netipc.ErrSizeOverflow
	}
	name, err := SHMObjectName(runDir, service, token, profile, sid, "mapping")
	if err != nil {
		return nil, err
	}
	r := &winRegion{server: true, profile: profile}
	h, _, e := procCreateFileMappingW.Call(uintptr(syscall.InvalidHandle), 0, pageReadWrite, 0, uintptr(size),
		uintptr(unsafe.Pointer(wstr(name))))
	if h == 0 {
		code := netipc.ErrIO
		switch errnoOf(e) {
		case errorCommitmentLimit, errorNotEnoughMemory, errorDiskFull:
			code = netipc.ErrSHMAlloc
		}
		return nil, &netipc.Error{Op: "shm create", Code: code, Err: e}
	}
	r.mapping = syscall.Handle(h)
	if errnoOf(e) == syscall.ERROR_ALREADY_EXISTS {
		r.free() // someone holds this session's name: never share it
		return nil, &netipc.Error{Op: "shm create", Code: netipc.ErrAddressInUse, Err: e}
	}
	base, err := syscall.MapViewOfFile(r.mapping, fileMapAllAccess, 0, 0, uintptr(size))
	if err != nil {
		r.free()
		return nil, &netipc.Error{Op: "shm create", Code: netipc.ErrSHMAlloc, Err: err}
	}
	r.view(base, uintptr(size))
	for off := uintptr(0); off < wshmHeaderLen; off += 4 {
		r.st32(off, 0)
	}
	r.st32(woffMagic, wshmMagic)
	r.st32(woffVersion, wshmVersion)
	r.st32(woffHeaderLen, wshmHeaderLen)
	r.st32(woffProfile, profile)
	r.st32(woffReqOffset, uint32(reqOff))
	r.st32(woffReqCap, reqCap)
	r.st32(woffRespOffset, uint32(respOff))
	r.st32(woffRespCap, respCap)
	r.st32(woffSpinTries, wshmSpinTries)
	r.spinTries = wshmSpinTries
	if profile == protocol.ProfileSHMHybrid {
		for _, ev := range []struct {
			obj string
			h   *syscall.Handle
		}{{"req_event", &r.reqEvent}, {"resp_event", &r.respEvent}} {
			n, err := SHMObjectName(runDir, service, token, profile, sid, ev.obj)
			if err == nil {
				*ev.h, err = createNamedEvent(n)
			}
			if err != nil {
				r.free()
				return nil, err
			}
		}
	}
	r.bindRoles()
	return r, nil
}

func (r *winRegion) checkHeader(profile uint32) error {
	switch {
	case r.u32(woffMagic) != wshmMagic:
		return netipc.ErrBadMagic
	case r.u32(woffVersion) != wshmVersion:
		return netipc.ErrBadVersion
	case r.u32(woffHeaderLen) != wshmHeaderLen:
		return netipc.ErrBadHeaderLen
	case r.u32(woffProfile) != profile:
		return netipc.ErrSHMBadProfile
	}
	reqOff, reqCap := uint64(r.u32(woffReqOffset)), uint64(r.u32(woffReqCap))
	respOff, respCap := uint64(r.u32(woffRespOffset)), uint64(r.u32(woffRespCap))
	switch {
	case reqOff < wshmHeaderLen || respOff < wshmHeaderLen || reqCap == 0 || respCap == 0,
		reqOff%64 != 0 || reqCap%64 != 0 || respOff%64 != 0 || respCap%64 != 0,
		respOff < reqOff+reqCap || respOff+respCap > 0xffffffff,
		reqOff+reqCap > uint64(r.size) || respOff+respCap > uint64(r.size),
		reqCap > maxShmAreaCeiling || respCap > maxShmAreaCeiling:
		return netipc.ErrSHMBadSize
	}
	return nil
}

type memoryBasicInformation struct {
	BaseAddress       uintptr
	AllocationBase    uintptr
	AllocationProtect uint32
	PartitionID       uint16
	RegionSize        uintptr
	State             uint32
	Protect           uint32
	Type              uint32
}

func shmAttach(runDir, service string, sid uint64, profile uint32, token uint64, pol *peerPolicy) (region, error) {
	if profile != protocol.ProfileSHMHybrid && profile != protocol.ProfileSHMBusywait {
		return nil, netipc.ErrSHMBadProfile
	}
	name, err := SHMObjectName(runDir, service, token, profile, sid, "mapping")
	if err != nil {
		return nil, netipc.ErrSHMBadSize // names we cannot derive were never created
	}
	r := &winRegion{profile: profile}
	h, _, e := procOpenFileMappingW.Call(fileMapAllAccess, 0, uintptr(unsafe.Pointer(wstr(name))))
	if h == 0 {
		return nil, &netipc.Error{Op: "shm attach", Code: netipc.ErrSHMNotReady, Err: e}
	}
	r.mapping = syscall.Handle(h)
	base, err := syscall.MapViewOfFile(r.mapping, fileMapAllAccess, 0, 0, 0)
	if err != nil {
		r.free()
		return nil, &netipc.Error{Op: "shm attach", Code: netipc.ErrSHMAlloc, Err: err}
	}
	r.base = base
	var mbi memoryBasicInformation
	if n, _, _ := procVirtualQuery.Call(base, uintptr(unsafe.Pointer(&mbi)), unsafe.Sizeof(mbi)); n == 0 ||
		mbi.RegionSize < wshmHeaderLen {
		r.free()
		return nil, netipc.ErrSHMBadSize
	}
	r.view(base, mbi.RegionSize)
	if err := r.checkHeader(profile); err != nil {
		r.free()
		return nil, err
	}
	r.spinTries = r.u32(woffSpinTries)
	if r.spinTries > wshmSpinMax {
		r.spinTries = wshmSpinMax
	}
	if profile == protocol.ProfileSHMHybrid {
		for _, ev := range []struct {
			obj string
			h   *syscall.Handle
		}{{"req_event", &r.reqEvent}, {"resp_event", &r.respEvent}} {
			n, _ := SHMObjectName(runDir, service, token, profile, sid, ev.obj)
			hh, _, e := procOpenEventW.Call(eventModifyState|synchronize, 0, uintptr(unsafe.Pointer(wstr(n))))
			if hh == 0 {
				r.free()
				return nil, &netipc.Error{Op: "shm attach", Code: netipc.ErrSHMNotReady, Err: e}
			}
			*ev.h = syscall.Handle(hh)
		}
	}
	r.bindRoles()
	return r, nil
}

func (r *winRegion) requestCapacity() uint32  { return r.reqCap }
func (r *winRegion) responseCapacity() uint32 { return r.respCap }

func (r *winRegion) bytes(off uintptr, n int) []byte { return r.mem[off : off+uintptr(n)] }

func (r *winRegion) publish(hdr, payload []byte) (err error) {
	defer endFault(guardFault(), &err)
	n := len(hdr) + len(payload)
	if n == 0 {
		return netipc.ErrInvalidArgument
	}
	if uint64(n) > uint64(r.out.cap) || n > wshmMsgMax {
		return netipc.ErrTooLarge
	}
	// Publishing to a peer that said goodbye fails now, not at the next receive.
	if atomic.LoadInt32(r.peerClose) != 0 {
		return netipc.ErrDisconnected
	}
	area := r.bytes(r.out.area, n)
	copy(area, hdr)
	copy(area[len(hdr):], payload)
	// Payload before length, length before sequence; with the consumer's
	// flag store and sequence re-check this is a Dekker pair: either we see
	// its waiting flag, or it sees our sequence before sleeping.
	atomic.StoreInt32(r.out.len, int32(n))
	atomic.AddInt64(r.out.seq, 1)
	r.outLocal++
	if r.peerEvent != 0 && atomic.LoadInt32(r.peerWait) != 0 {
		setEvent(r.peerEvent)
	}
	return nil
}

type observation int

const (
	obsNothing observation = iota
	obsGot
	obsCorrupt
	obsTooLarge
)

// observe looks for message expected and copies it; the length and the
// sequence are read again after the copy: a change means the peer
// overwrote the area meanwhile, which is corruption.
func (r *winRegion) observe(expected int64, buf []byte, maxCopy uint32, n *int) observation {
	seq := atomic.LoadInt64(r.in.seq)
	if seq < expected {
		return obsNothing
	}
	l := atomic.LoadInt32(r.in.len)
	if l <= 0 {
		return obsCorrupt
	}
	if uint32(l) > maxCopy {
		return obsTooLarge
	}
	copy(buf, r.bytes(r.in.area, int(l)))
	if atomic.LoadInt32(r.in.len) != l || atomic.LoadInt64(r.in.seq) != seq {
		return obsCorrupt
	}
	*n = int(l)
	return obsGot
}

func (r *winRegion) finish(expected int64, o observation) error {
	r.inLocal = expected
	switch o {
	case obsTooLarge:
		return netipc.ErrTooLarge
	case obsCorrupt:
		return netipc.ErrCorrupt
	}
	return nil
}

func (r *winRegion) idle(ctx context.Context, liveness conn, probe bool) error {
	if atomic.LoadInt32(r.peerClose) != 0 {
		return netipc.ErrDisconnected
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	// A peer killed before it could set its closed flag: its pipe end is gone.
	if probe && liveness != nil && liveness.peerGone() {
		return netipc.ErrDisconnected
	}
	return nil
}

func (r *winRegion) consume(ctx context.Context, buf []byte, deadline time.Time, spinOnly bool, liveness conn) (n int, err error) {
	defer endFault(guardFault(), &err)
	expected := r.inLocal + 1
	maxCopy := r.in.cap
	if uint64(len(buf)) < uint64(maxCopy) {
		maxCopy = uint32(len(buf))
	}
	for i := uint32(0); i < r.spinTries; i++ {
		if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
			return n, r.finish(expected, o)
		}
	}
	if spinOnly {
		return 0, netipc.ErrTimeout
	}
	if r.profile == protocol.ProfileSHMHybrid {
		for {
			atomic.StoreInt32(r.ownWaiting, 1)
			if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
				atomic.StoreInt32(r.ownWaiting, 0)
				return n, r.finish(expected, o)
			}
			now := time.Now()
			end, expired := slice(now, deadline)
			if expired {
				atomic.StoreInt32(r.ownWaiting, 0)
				return 0, netipc.ErrTimeout
			}
			w, _ := syscall.WaitForSingleObject(r.ownEvent, uint32(end.Sub(now)/time.Millisecond))
			atomic.StoreInt32(r.ownWaiting, 0)
			if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
				return n, r.finish(expected, o)
			}
			if w == waitFailed {
				return 0, netipc.ErrIO
			}
			if err := r.idle(ctx, liveness, w == waitTimeout); err != nil {
				// The peer's last message may have landed with its goodbye.
				if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
					return n, r.finish(expected, o)
				}
				return 0, err
			}
		}
	}
	nextProbe := time.Now().Add(waitSlice)
	for polls := uint32(1); ; polls++ {
		if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
			return n, r.finish(expected, o)
		}
		if polls&1023 != 0 {
			continue
		}
		switchToThread()
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			return 0, netipc.ErrTimeout
		}
		probe := now.After(nextProbe)
		if probe {
			nextProbe = now.Add(waitSlice)
		}
		if err := r.idle(ctx, liveness, probe); err != nil {
			if o := r.observe(expected, buf, maxCopy, &n); o != obsNothing {
				return n, r.finish(expected, o)
			}
			return 0, err
		}
	}
}

func (r *winRegion) close() {
	if r.base != 0 && r.ownClosed != nil {
		// Say goodbye and wake a peer sleeping on its event.
		atomic.StoreInt32(r.ownClosed, 1)
		if r.peerEvent != 0 {
			setEvent(r.peerEvent)
		}
	}
	r.free()
}
