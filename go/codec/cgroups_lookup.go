package codec

import (
	"bytes"

	netipc "github.com/netdata/netipc/go"
)

// CGROUPS_LOOKUP item fixed part offsets (codecs.md §5).
const (
	cgLayout    = 0
	cgStatus    = 2
	cgOrch      = 4
	cgReserved0 = 6
	cgPath      = 8
	cgName      = 16
	cgLabels    = 24
	cgReserved1 = 26
)

func checkPath(p []byte) error {
	if len(p) == 0 {
		return netipc.ErrBadField
	}
	if hasNUL(p) {
		return netipc.ErrEmbeddedNUL
	}
	return nil
}

// EncodeCgroupsLookupRequest writes a request whose keys are paths (path +
// NUL, 8-aligned, zero padding between keys). It returns the encoded size,
// or the size needed with ErrBufferTooSmall. Errors: ErrBadField (an empty
// path), ErrEmbeddedNUL, ErrSizeOverflow.
func EncodeCgroupsLookupRequest(paths [][]byte, buf []byte) (int, error) {
	n := uint32(len(paths))
	start := lookupPackedStart(n)
	end := uint64(0)
	for i, p := range paths {
		if err := checkPath(p); err != nil {
			return 0, err
		}
		if i > 0 {
			end = align8(end)
		}
		end += uint64(len(p)) + 1
		if start+end > maxU32 {
			return 0, netipc.ErrSizeOverflow
		}
	}
	if start > maxU32 {
		return 0, netipc.ErrSizeOverflow
	}
	total := start + end
	if total > uint64(len(buf)) {
		return int(total), netipc.ErrBufferTooSmall
	}
	le.PutUint16(buf, 1)
	le.PutUint16(buf[2:], 0)
	le.PutUint32(buf[4:], n)
	le.PutUint32(buf[8:], 0)
	le.PutUint32(buf[12:], 0)
	packed := buf[start:]
	pos := uint64(0)
	for i, p := range paths {
		off := uint64(0)
		if i > 0 {
			off = align8(pos)
		}
		for j := pos; j < off; j++ {
			packed[j] = 0
		}
		e := buf[LookupHeaderSize+uint64(i)*8:]
		le.PutUint32(e, uint32(off))
		le.PutUint32(e[4:], uint32(len(p))+1)
		copy(packed[off:], p)
		packed[off+uint64(len(p))] = 0
		pos = off + uint64(len(p)) + 1
	}
	return int(total), nil
}

// CgroupsLookupRequestPrefix returns the largest k such that the request
// for paths[:k] encodes in at most limit bytes, and that request's size.
// The paths must be valid keys. (The encoded size grows strictly with each
// key, so accumulating until the first key that does not fit gives the same
// answer as a binary search, in time proportional to the keys sent.)
func CgroupsLookupRequestPrefix(paths [][]byte, limit uint64) (int, uint64) {
	end := uint64(0)
	k := 0
	for ; k < len(paths); k++ {
		next := uint64(len(paths[k])) + 1
		if k > 0 {
			next += align8(end)
		}
		if lookupPackedStart(uint32(k+1))+next > limit {
			break
		}
		end = next
	}
	return k, lookupPackedStart(uint32(k)) + end
}

// CgroupsLookupRequest is a decoded request; keys are read with Key.
type CgroupsLookupRequest struct {
	Payload   []byte
	ItemCount uint32
}

// DecodeCgroupsLookupRequest validates a whole request. Errors:
// ErrTruncated, ErrBadLayout, ErrBadFlags, ErrBadReserved, ErrSizeOverflow,
// ErrBadAlignment, ErrBadField (entry length < 2), ErrOutOfBounds,
// ErrOverlap, ErrMissingNUL, ErrEmbeddedNUL.
func DecodeCgroupsLookupRequest(p []byte) (CgroupsLookupRequest, error) {
	n, err := checkRequestHeader(p)
	if err == nil {
		err = checkDirectory(p, n, 2, maxU32)
	}
	if err != nil {
		return CgroupsLookupRequest{}, err
	}
	for i := uint32(0); i < n; i++ {
		off, l := lookupEntry(p, i)
		key := lookupAt(p, n, off, l)
		if key[l-1] != 0 {
			return CgroupsLookupRequest{}, netipc.ErrMissingNUL
		}
		if hasNUL(key[:l-1]) {
			return CgroupsLookupRequest{}, netipc.ErrEmbeddedNUL
		}
	}
	return CgroupsLookupRequest{Payload: p, ItemCount: n}, nil
}

// Key returns key index (the path without its NUL), aliasing the payload;
// nil for an index out of range.
func (r *CgroupsLookupRequest) Key(index uint32) []byte {
	if index >= r.ItemCount {
		return nil
	}
	off, l := lookupEntry(r.Payload, index)
	return lookupAt(r.Payload, r.ItemCount, off, l-1)
}

// CgroupsLookupItem is one response item; the byte slices alias the payload.
// Builders read Labels.Count labels from their labels argument, or from the
// decoded table when that argument is nil.
type CgroupsLookupItem struct {
	Status       uint16
	Orchestrator uint16
	Path         []byte // the key, echoed; never empty
	Name         []byte // empty unless KNOWN
	Labels       Labels // count 0 unless KNOWN
}

// CgroupsLookupView is a decoded response (also what the Level 2 call returns).
type CgroupsLookupView struct {
	Payload    []byte
	ItemCount  uint32
	Generation uint64
}

func cgSemantics(status, orch uint16, pathLen, nameLen int, labels uint16) error {
	if status > CgroupOversizedItem {
		return netipc.ErrBadStatus
	}
	if pathLen == 0 {
		return netipc.ErrBadField
	}
	if status != CgroupKnown && (orch != 0 || nameLen != 0 || labels != 0) {
		return netipc.ErrBadField
	}
	return nil
}

func cgCheckItem(it []byte, out *CgroupsLookupItem) error {
	if le.Uint16(it[cgLayout:]) != 1 {
		return netipc.ErrBadLayout
	}
	status := le.Uint16(it[cgStatus:])
	if status > CgroupOversizedItem {
		return netipc.ErrBadStatus
	}
	if le.Uint16(it[cgReserved0:]) != 0 || le.Uint16(it[cgReserved1:]) != 0 {
		return netipc.ErrBadReserved
	}
	po, pl := le.Uint32(it[cgPath:]), le.Uint32(it[cgPath+4:])
	no, nl := le.Uint32(it[cgName:]), le.Uint32(it[cgName+4:])
	path, err := checkString(it, CgroupsLookupItemFixed, po, pl)
	if err != nil {
		return err
	}
	name, err := checkString(it, CgroupsLookupItemFixed, no, nl)
	if err != nil {
		return err
	}
	if overlap(po, pl, no, nl) {
		return netipc.ErrOverlap
	}
	orch, count := le.Uint16(it[cgOrch:]), le.Uint16(it[cgLabels:])
	if err := cgSemantics(status, orch, int(pl), int(nl), count); err != nil {
		return err
	}
	fixedEnd := uint64(po) + uint64(pl) + 1
	if e := uint64(no) + uint64(nl) + 1; e > fixedEnd {
		fixedEnd = e
	}
	labels, err := checkLabels(it, fixedEnd, count)
	if err != nil {
		return err
	}
	*out = CgroupsLookupItem{Status: status, Orchestrator: orch, Path: path, Name: name, Labels: labels}
	return nil
}

// DecodeCgroupsLookupResponse validates a whole response (header,
// directory, every item and label). Errors: ErrTruncated, ErrBadLayout,
// ErrBadFlags, ErrSizeOverflow, ErrBadAlignment, ErrOutOfBounds, ErrOverlap,
// ErrBadField, ErrBadStatus, ErrBadReserved, ErrMissingNUL, ErrEmbeddedNUL.
func DecodeCgroupsLookupResponse(p []byte) (CgroupsLookupView, error) {
	n, gen, err := checkResponseHeader(p)
	if err == nil {
		err = checkDirectory(p, n, CgroupsLookupItemFixed, maxU32)
	}
	var item CgroupsLookupItem
	for i := uint32(0); err == nil && i < n; i++ {
		off, l := lookupEntry(p, i)
		err = cgCheckItem(lookupAt(p, n, off, l), &item)
	}
	if err != nil {
		return CgroupsLookupView{}, err
	}
	return CgroupsLookupView{Payload: p, ItemCount: n, Generation: gen}, nil
}

// Item returns item index of a decoded response (ErrInvalidArgument for an
// index out of range).
func (v *CgroupsLookupView) Item(index uint32) (CgroupsLookupItem, error) {
	var it CgroupsLookupItem
	if index >= v.ItemCount {
		return it, netipc.ErrInvalidArgument
	}
	off, l := lookupEntry(v.Payload, index)
	err := cgCheckItem(lookupAt(v.Payload, v.ItemCount, off, l), &it)
	return it, err
}

// CgroupsLookupBuilder builds a CGROUPS_LOOKUP response, in plain mode
// (exactly the given items, canonical bytes) or reply mode (the server
// policy of codecs.md §4: room kept for a PAYLOAD_EXCEEDED tail, items that
// do not fit replaced by OVERSIZED_ITEM / PAYLOAD_EXCEEDED). Argument
// errors are sticky.
type CgroupsLookupBuilder struct {
	core builderCore
	req  *CgroupsLookupRequest
}

// NewCgroupsLookupBuilder starts a plain builder for exactly itemCount items.
func NewCgroupsLookupBuilder(buf []byte, itemCount uint32, generation uint64) CgroupsLookupBuilder {
	var b CgroupsLookupBuilder
	b.core.init(buf, itemCount, generation)
	return b
}

// NewCgroupsLookupReplyBuilder starts a reply builder for req within buf
// (the server's response budget). req must outlive the builder.
func NewCgroupsLookupReplyBuilder(buf []byte, req *CgroupsLookupRequest, generation uint64) CgroupsLookupBuilder {
	var b CgroupsLookupBuilder
	suffix0 := uint64(0)
	for i := uint32(0); i < req.ItemCount; i++ {
		m := CgroupsLookupMinItem(len(req.Key(i)))
		if i+1 < req.ItemCount {
			m = align8(m)
		}
		suffix0 += m
	}
	b.core.initReply(buf, req.ItemCount, generation, suffix0)
	b.req = req
	return b
}

// SetGeneration sets the response generation (any time before Finish).
func (b *CgroupsLookupBuilder) SetGeneration(g uint64) { b.core.setGeneration(g) }

// Exceeded reports (reply mode) that the builder only writes
// PAYLOAD_EXCEEDED from now on: a handler may skip the remaining lookups.
func (b *CgroupsLookupBuilder) Exceeded() bool { return b.core.exceeded }

// cgSpec returns the spec by value: stores through a pointer would make
// escape analysis move the caller's item and labels to the heap.
func cgSpec(status, orch uint16, path, name []byte, count uint16, labels []Label, decoded *Labels) itemSpec {
	s := itemSpec{fixedLen: CgroupsLookupItemFixed, nstrings: 2, labelCountAt: cgLabels,
		labelCount: count, labels: labels, decoded: decoded}
	le.PutUint16(s.fixed[cgLayout:], 1)
	le.PutUint16(s.fixed[cgStatus:], status)
	le.PutUint16(s.fixed[cgOrch:], orch)
	s.strings[0], s.pairAt[0] = path, cgPath
	s.strings[1], s.pairAt[1] = name, cgName
	return s
}

// Add appends the next item with item.Labels.Count labels taken from
// labels, or from the decoded item's table when labels is nil. Rules:
// status in range (ErrBadStatus); path non-empty, not KNOWN → orchestrator
// 0, empty name, no labels, label keys non-empty (ErrBadField); no NUL in
// any string (ErrEmbeddedNUL); reply mode: the path is the request's key
// (ErrBadField). Plain mode: ErrBufferTooSmall keeps counting,
// ErrBadItemCount past the count. Reply mode: nil when written or replaced,
// ErrBufferTooSmall (overflow) when not even a replacement fits.
func (b *CgroupsLookupBuilder) Add(item *CgroupsLookupItem, labels []Label) error {
	c := &b.core
	if err := c.canAdd(); err != nil {
		return err
	}
	if err := cgSemantics(item.Status, item.Orchestrator, len(item.Path), len(item.Name), item.Labels.Count); err != nil {
		return c.fail(err)
	}
	key := item.Path
	if c.reply {
		key = b.req.Key(c.added)
		if !bytes.Equal(key, item.Path) {
			return c.fail(netipc.ErrBadField)
		}
	}
	spec := cgSpec(item.Status, item.Orchestrator, item.Path, item.Name, item.Labels.Count, labels, &item.Labels)
	n, err := spec.size()
	if err != nil {
		return c.fail(err)
	}
	if !c.reply {
		return c.appendItem(&spec, n, 0)
	}
	min := CgroupsLookupMinItem(len(key))
	if !c.exceeded && item.Status != CgroupPayloadExceeded && c.fits(n, min) {
		return c.appendItem(&spec, n, min)
	}
	// Replacement: the key echoed, nothing else. The first item can never
	// fit (OVERSIZED_ITEM, final); a later one ends this response's share
	// of the keys (PAYLOAD_EXCEEDED: the client asks again for the rest).
	status := uint16(CgroupOversizedItem)
	if c.added > 0 {
		status = CgroupPayloadExceeded
		c.exceeded = true
	}
	spec = cgSpec(status, 0, key, nil, 0, nil, nil)
	if !c.fits(min, min) {
		return c.fail(netipc.ErrBufferTooSmall)
	}
	return c.appendItem(&spec, min, min)
}

// Finish completes the response and returns its size. ErrBadItemCount for
// fewer items than announced; the sticky error if any. ErrBufferTooSmall:
// plain mode reports the exact size needed, reply mode the smallest
// response the policy can produce.
func (b *CgroupsLookupBuilder) Finish() (int, error) { return b.core.finish() }

// Used is the size of the response so far, padding to the next item included.
func (b *CgroupsLookupBuilder) Used() uint64 { return b.core.used() }

// Grow moves a plain builder to a larger buffer (its content is copied).
func (b *CgroupsLookupBuilder) Grow(buf []byte) {
	copy(buf, b.core.buf)
	b.core.buf = buf
	if b.core.err == netipc.ErrBufferTooSmall && !b.core.reply && b.core.added == 0 {
		b.core.err = nil
	}
}
