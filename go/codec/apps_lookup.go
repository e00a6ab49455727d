package codec

import netipc "github.com/netdata/netipc/go"

// APPS_LOOKUP item fixed part offsets (codecs.md §6); 60 bytes.
const (
	apLayout       = 0
	apStatus       = 2
	apOrch         = 4
	apCgroupStatus = 6
	apPID          = 8
	apPPID         = 12
	apUID          = 16
	apReserved0    = 20
	apStarttime    = 24
	apComm         = 32
	apCgroupPath   = 40
	apCgroupName   = 48
	apLabels       = 56
	apReserved1    = 58
)

// EncodeAppsLookupRequest writes a request for pids (key i = {pid, 0} at
// packed offset 8i): 16 + 16n bytes, or the size needed with
// ErrBufferTooSmall. ErrSizeOverflow beyond 4 GiB.
func EncodeAppsLookupRequest(pids []uint32, buf []byte) (int, error) {
	n := uint32(len(pids))
	start := lookupPackedStart(n)
	total := start + uint64(n)*AppsLookupKeySize
	if total > maxU32 || uint64(len(pids)) > maxU32 {
		return 0, netipc.ErrSizeOverflow
	}
	if total > uint64(len(buf)) {
		return int(total), netipc.ErrBufferTooSmall
	}
	le.PutUint16(buf, 1)
	le.PutUint16(buf[2:], 0)
	le.PutUint32(buf[4:], n)
	le.PutUint32(buf[8:], 0)
	le.PutUint32(buf[12:], 0)
	for i, pid := range pids {
		off := uint32(i) * AppsLookupKeySize
		e := buf[LookupHeaderSize+uint64(i)*8:]
		le.PutUint32(e, off)
		le.PutUint32(e[4:], AppsLookupKeySize)
		le.PutUint32(buf[start+uint64(off):], pid)
		le.PutUint32(buf[start+uint64(off)+4:], 0)
	}
	return int(total), nil
}

// AppsLookupRequest is a decoded request; pids are read with PID.
type AppsLookupRequest struct {
	Payload   []byte
	ItemCount uint32
}

// DecodeAppsLookupRequest validates a whole request: as for cgroups, with
// ErrBadField for an entry length other than 8 and ErrBadReserved for a key
// whose reserved word is not 0.
func DecodeAppsLookupRequest(p []byte) (AppsLookupRequest, error) {
	n, err := checkRequestHeader(p)
	if err == nil {
		err = checkDirectory(p, n, AppsLookupKeySize, AppsLookupKeySize)
	}
	if err != nil {
		return AppsLookupRequest{}, err
	}
	for i := uint32(0); i < n; i++ {
		off, l := lookupEntry(p, i)
		if le.Uint32(lookupAt(p, n, off, l)[4:]) != 0 {
			return AppsLookupRequest{}, netipc.ErrBadReserved
		}
	}
	return AppsLookupRequest{Payload: p, ItemCount: n}, nil
}

// PID returns the pid of key index (0 for an index out of range).
func (r *AppsLookupRequest) PID(index uint32) uint32 {
	if index >= r.ItemCount {
		return 0
	}
	off, l := lookupEntry(r.Payload, index)
	return le.Uint32(lookupAt(r.Payload, r.ItemCount, off, l))
}

// AppsLookupItem is one response item; the byte slices alias the payload.
type AppsLookupItem struct {
	Status       uint16
	Orchestrator uint16
	CgroupStatus uint16
	PID          uint32 // the key, echoed
	PPID         uint32
	UID          uint32 // UIDUnset unless KNOWN
	Starttime    uint64 // Linux: jiffies since boot; 0 elsewhere
	Comm         []byte // <= 15 bytes; non-empty when KNOWN
	CgroupPath   []byte
	CgroupName   []byte
	Labels       Labels
}

// AppsLookupView is a decoded response.
type AppsLookupView struct {
	Payload    []byte
	ItemCount  uint32
	Generation uint64
}

func appSemantics(it *AppsLookupItem) error {
	if it.Status > AppOversizedItem || it.CgroupStatus > AppCgroupHostRoot {
		return netipc.ErrBadStatus
	}
	if len(it.Comm) > AppsCommMax {
		return netipc.ErrBadField
	}
	path, name, labels := len(it.CgroupPath), len(it.CgroupName), it.Labels.Count
	if it.Status != AppKnown {
		if it.Orchestrator != 0 || it.CgroupStatus != 0 || it.PPID != 0 || it.UID != UIDUnset ||
			it.Starttime != 0 || len(it.Comm) != 0 || path != 0 || name != 0 || labels != 0 {
			return netipc.ErrBadField
		}
		return nil
	}
	if len(it.Comm) == 0 {
		return netipc.ErrBadField
	}
	ok := true
	switch it.CgroupStatus {
	case AppCgroupKnown:
		ok = path >= 1
	case AppCgroupUnknownRetryLater: // the path may be empty
		ok = it.Orchestrator == 0 && name == 0 && labels == 0
	case AppCgroupUnknownPermanent:
		ok = path >= 1 && it.Orchestrator == 0 && name == 0 && labels == 0
	default: // HOST_ROOT
		ok = it.Orchestrator == 0 && path == 0 && name == 0 && labels == 0
	}
	if !ok {
		return netipc.ErrBadField
	}
	return nil
}

func appCheckItem(it []byte, out *AppsLookupItem) error {
	if le.Uint16(it[apLayout:]) != 1 {
		return netipc.ErrBadLayout
	}
	out.Status = le.Uint16(it[apStatus:])
	out.CgroupStatus = le.Uint16(it[apCgroupStatus:])
	if out.Status > AppOversizedItem || out.CgroupStatus > AppCgroupHostRoot {
		return netipc.ErrBadStatus
	}
	if le.Uint32(it[apReserved0:]) != 0 || le.Uint16(it[apReserved1:]) != 0 {
		return netipc.ErrBadReserved
	}
	at := [3]uint32{apComm, apCgroupPath, apCgroupName}
	var strs [3][]byte
	fixedEnd := uint64(0)
	for i := 0; i < 3; i++ {
		off, n := le.Uint32(it[at[i]:]), le.Uint32(it[at[i]+4:])
		s, err := checkString(it, AppsLookupItemFixed, off, n)
		if err != nil {
			return err
		}
		strs[i] = s
		if e := uint64(off) + uint64(n) + 1; e > fixedEnd {
			fixedEnd = e
		}
	}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if overlap(le.Uint32(it[at[i]:]), uint32(len(strs[i])), le.Uint32(it[at[j]:]), uint32(len(strs[j]))) {
				return netipc.ErrOverlap
			}
		}
	}
	out.Comm, out.CgroupPath, out.CgroupName = strs[0], strs[1], strs[2]
	out.Orchestrator = le.Uint16(it[apOrch:])
	out.PID = le.Uint32(it[apPID:])
	out.PPID = le.Uint32(it[apPPID:])
	out.UID = le.Uint32(it[apUID:])
	out.Starttime = le.Uint64(it[apStarttime:])
	out.Labels = Labels{Count: le.Uint16(it[apLabels:])}
	if err := appSemantics(out); err != nil {
		return err
	}
	labels, err := checkLabels(it, fixedEnd, out.Labels.Count)
	out.Labels = labels
	return err
}

// DecodeAppsLookupResponse validates a whole response (entries >= 60
// bytes, plus the semantic rules of codecs.md §6). Errors as for cgroups.
func DecodeAppsLookupResponse(p []byte) (AppsLookupView, error) {
	n, gen, err := checkResponseHeader(p)
	if err == nil {
		err = checkDirectory(p, n, AppsLookupItemFixed, maxU32)
	}
	var item AppsLookupItem
	for i := uint32(0); err == nil && i < n; i++ {
		off, l := lookupEntry(p, i)
		err = appCheckItem(lookupAt(p, n, off, l), &item)
	}
	if err != nil {
		return AppsLookupView{}, err
	}
	return AppsLookupView{Payload: p, ItemCount: n, Generation: gen}, nil
}

// Item returns item index of a decoded response.
func (v *AppsLookupView) Item(index uint32) (AppsLookupItem, error) {
	var it AppsLookupItem
	if index >= v.ItemCount {
		return it, netipc.ErrInvalidArgument
	}
	off, l := lookupEntry(v.Payload, index)
	err := appCheckItem(lookupAt(v.Payload, v.ItemCount, off, l), &it)
	return it, err
}

// AppsLookupBuilder builds an APPS_LOOKUP response, in plain or reply mode
// (see CgroupsLookupBuilder).
type AppsLookupBuilder struct {
	core builderCore
	req  *AppsLookupRequest
}

// NewAppsLookupBuilder starts a plain builder for exactly itemCount items.
func NewAppsLookupBuilder(buf []byte, itemCount uint32, generation uint64) AppsLookupBuilder {
	var b AppsLookupBuilder
	b.core.init(buf, itemCount, generation)
	return b
}

// NewAppsLookupReplyBuilder starts a reply builder for req within buf.
func NewAppsLookupReplyBuilder(buf []byte, req *AppsLookupRequest, generation uint64) AppsLookupBuilder {
	var b AppsLookupBuilder
	n := uint64(req.ItemCount)
	suffix0 := uint64(0)
	if n > 0 {
		suffix0 = (n-1)*align8(AppsLookupMinItem) + AppsLookupMinItem
	}
	b.core.initReply(buf, req.ItemCount, generation, suffix0)
	b.req = req
	return b
}

// SetGeneration sets the response generation (any time before Finish).
func (b *AppsLookupBuilder) SetGeneration(g uint64) { b.core.setGeneration(g) }

// Exceeded reports (reply mode) that only PAYLOAD_EXCEEDED is written now.
func (b *AppsLookupBuilder) Exceeded() bool { return b.core.exceeded }

func appSpec(it *AppsLookupItem, labels []Label) itemSpec {
	s := itemSpec{fixedLen: AppsLookupItemFixed, nstrings: 3, labelCountAt: apLabels,
		labelCount: it.Labels.Count, labels: labels, decoded: &it.Labels}
	f := s.fixed[:]
	le.PutUint16(f[apLayout:], 1)
	le.PutUint16(f[apStatus:], it.Status)
	le.PutUint16(f[apOrch:], it.Orchestrator)
	le.PutUint16(f[apCgroupStatus:], it.CgroupStatus)
	le.PutUint32(f[apPID:], it.PID)
	le.PutUint32(f[apPPID:], it.PPID)
	le.PutUint32(f[apUID:], it.UID)
	le.PutUint64(f[apStarttime:], it.Starttime)
	s.strings[0], s.pairAt[0] = it.Comm, apComm
	s.strings[1], s.pairAt[1] = it.CgroupPath, apCgroupPath
	s.strings[2], s.pairAt[2] = it.CgroupName, apCgroupName
	return s
}

// Add appends the next item (labels as for cgroups) after the semantic
// checks of codecs.md §6 (ErrBadStatus, ErrBadField); reply mode: the pid
// must be the request's key (ErrBadField). Results as for cgroups.
func (b *AppsLookupBuilder) Add(item *AppsLookupItem, labels []Label) error {
	c := &b.core
	if err := c.canAdd(); err != nil {
		return err
	}
	if err := appSemantics(item); err != nil {
		return c.fail(err)
	}
	if c.reply && b.req.PID(c.added) != item.PID {
		return c.fail(netipc.ErrBadField)
	}
	spec := appSpec(item, labels)
	n, err := spec.size()
	if err != nil {
		return c.fail(err)
	}
	if !c.reply {
		return c.appendItem(&spec, n, 0)
	}
	const min = AppsLookupMinItem
	if !c.exceeded && item.Status != AppPayloadExceeded && c.fits(n, min) {
		return c.appendItem(&spec, n, min)
	}
	r := AppsLookupItem{Status: AppOversizedItem, PID: item.PID, UID: UIDUnset}
	if c.added > 0 {
		r.Status = AppPayloadExceeded
		c.exceeded = true
	}
	spec = appSpec(&r, nil)
	if !c.fits(min, min) {
		return c.fail(netipc.ErrBufferTooSmall)
	}
	return c.appendItem(&spec, min, min)
}

// Finish completes the response (see CgroupsLookupBuilder.Finish).
func (b *AppsLookupBuilder) Finish() (int, error) { return b.core.finish() }

// Used is the size of the response so far, padding to the next item included.
func (b *AppsLookupBuilder) Used() uint64 { return b.core.used() }

// Grow moves a plain builder to a larger buffer (its content is copied).
func (b *AppsLookupBuilder) Grow(buf []byte) {
	copy(buf, b.core.buf)
	b.core.buf = buf
	if b.core.err == netipc.ErrBufferTooSmall && !b.core.reply && b.core.added == 0 {
		b.core.err = nil
	}
}
