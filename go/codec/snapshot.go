package codec

import netipc "github.com/netdata/netipc/go"

// CGROUPS_SNAPSHOT sizes.
const (
	CgroupsRequestSize    = 4
	CgroupsResponseHeader = 24
	CgroupsItemFixed      = 32
)

// EncodeCgroupsRequest writes the 4-byte request {layout 1, flags 0}.
func EncodeCgroupsRequest(buf []byte) (int, error) {
	if len(buf) < CgroupsRequestSize {
		return CgroupsRequestSize, netipc.ErrBufferTooSmall
	}
	le.PutUint16(buf, 1)
	le.PutUint16(buf[2:], 0)
	return CgroupsRequestSize, nil
}

// DecodeCgroupsRequest checks a request. Errors: ErrTruncated, ErrBadLayout,
// ErrBadFlags. Extra bytes are ignored.
func DecodeCgroupsRequest(p []byte) error {
	if len(p) < CgroupsRequestSize {
		return netipc.ErrTruncated
	}
	if le.Uint16(p) != 1 {
		return netipc.ErrBadLayout
	}
	if le.Uint16(p[2:]) != 0 {
		return netipc.ErrBadFlags
	}
	return nil
}

func snapshotPackedStart(n uint32) uint64 { return CgroupsResponseHeader + uint64(n)*8 }

// CgroupsBuilder builds a snapshot response for an announced item count:
// the directory in place, items at 8-aligned packed offsets with zero
// padding and no trailing padding. It never allocates and keeps counting
// after the buffer is too small, so Finish reports the exact size.
type CgroupsBuilder struct {
	buf       []byte
	itemCount uint32
	added     uint32
	packed    uint64
	err       error
}

// NewCgroupsBuilder starts a response in buf (nil to only compute the size).
func NewCgroupsBuilder(buf []byte, itemCount, systemdEnabled uint32, generation uint64) CgroupsBuilder {
	b := CgroupsBuilder{buf: buf, itemCount: itemCount}
	start := snapshotPackedStart(itemCount)
	switch {
	case start > maxU32:
		b.err = netipc.ErrSizeOverflow
	case start > uint64(len(buf)):
		b.err = netipc.ErrBufferTooSmall
	default:
		le.PutUint16(buf, 1)
		le.PutUint16(buf[2:], 0)
		le.PutUint32(buf[4:], itemCount)
		le.PutUint32(buf[8:], systemdEnabled)
		le.PutUint32(buf[12:], 0)
		le.PutUint64(buf[16:], generation)
	}
	return b
}

// Add appends one item. Errors (sticky): ErrBadItemCount (too many items),
// ErrBufferTooSmall (keeps counting), ErrSizeOverflow.
func (b *CgroupsBuilder) Add(hash, options, enabled uint32, name, path []byte) error {
	if b.err != nil && b.err != netipc.ErrBufferTooSmall {
		return b.err
	}
	if b.added >= b.itemCount {
		b.err = netipc.ErrBadItemCount
		return b.err
	}
	itemLen := uint64(CgroupsItemFixed) + uint64(len(name)) + uint64(len(path)) + 2
	off := uint64(0)
	if b.added > 0 {
		off = align8(b.packed)
	}
	end := off + itemLen
	start := snapshotPackedStart(b.itemCount)
	if start+end > maxU32 {
		b.err = netipc.ErrSizeOverflow
		return b.err
	}
	if b.err == nil && start+end <= uint64(len(b.buf)) {
		packed := b.buf[start:]
		for i := b.packed; i < off; i++ {
			packed[i] = 0
		}
		e := b.buf[CgroupsResponseHeader+uint64(b.added)*8:]
		le.PutUint32(e, uint32(off))
		le.PutUint32(e[4:], uint32(itemLen))
		it := packed[off:end]
		nameOff := uint32(CgroupsItemFixed)
		pathOff := nameOff + uint32(len(name)) + 1
		le.PutUint16(it, 1)
		le.PutUint16(it[2:], 0)
		le.PutUint32(it[4:], hash)
		le.PutUint32(it[8:], options)
		le.PutUint32(it[12:], enabled)
		le.PutUint32(it[16:], nameOff)
		le.PutUint32(it[20:], uint32(len(name)))
		le.PutUint32(it[24:], pathOff)
		le.PutUint32(it[28:], uint32(len(path)))
		copy(it[nameOff:], name)
		it[nameOff+uint32(len(name))] = 0
		copy(it[pathOff:], path)
		it[pathOff+uint32(len(path))] = 0
	} else {
		b.err = netipc.ErrBufferTooSmall
	}
	b.packed = end
	b.added++
	return b.err
}

// Finish returns the payload size, or on ErrBufferTooSmall the exact size
// needed. ErrBadItemCount when fewer items than announced were added.
func (b *CgroupsBuilder) Finish() (int, error) {
	if b.err != nil && b.err != netipc.ErrBufferTooSmall {
		return 0, b.err
	}
	if b.added != b.itemCount {
		b.err = netipc.ErrBadItemCount
		return 0, b.err
	}
	total := snapshotPackedStart(b.itemCount) + b.packed
	if total > uint64(len(b.buf)) {
		b.err = netipc.ErrBufferTooSmall
		return int(total), b.err
	}
	return int(total), nil
}

// CgroupsView is a zero-copy view of a snapshot response; it aliases the
// payload it was decoded from.
type CgroupsView struct {
	Payload        []byte
	ItemCount      uint32
	SystemdEnabled uint32
	Generation     uint64
}

// CgroupItem is one snapshot item; Name and Path alias the payload.
type CgroupItem struct {
	Hash    uint32
	Options uint32
	Enabled uint32
	Name    []byte
	Path    []byte
}

// DecodeCgroupsResponse validates the header and directory. Errors:
// ErrTruncated, ErrBadLayout, ErrBadFlags, ErrBadReserved, ErrBadAlignment,
// ErrOutOfBounds, ErrBadField (an entry shorter than 32 bytes). Items are
// checked when read with Item.
func DecodeCgroupsResponse(p []byte) (CgroupsView, error) {
	if len(p) < CgroupsResponseHeader {
		return CgroupsView{}, netipc.ErrTruncated
	}
	if le.Uint16(p) != 1 {
		return CgroupsView{}, netipc.ErrBadLayout
	}
	if le.Uint16(p[2:]) != 0 {
		return CgroupsView{}, netipc.ErrBadFlags
	}
	if le.Uint32(p[12:]) != 0 {
		return CgroupsView{}, netipc.ErrBadReserved
	}
	n := le.Uint32(p[4:])
	start := snapshotPackedStart(n)
	if start > uint64(len(p)) {
		return CgroupsView{}, netipc.ErrTruncated
	}
	packedLen := uint64(len(p)) - start
	for i := uint32(0); i < n; i++ {
		e := p[CgroupsResponseHeader+uint64(i)*8:]
		off, ilen := le.Uint32(e), le.Uint32(e[4:])
		if off%8 != 0 {
			return CgroupsView{}, netipc.ErrBadAlignment
		}
		if uint64(off)+uint64(ilen) > packedLen {
			return CgroupsView{}, netipc.ErrOutOfBounds
		}
		if ilen < CgroupsItemFixed {
			return CgroupsView{}, netipc.ErrBadField
		}
	}
	return CgroupsView{Payload: p, ItemCount: n, SystemdEnabled: le.Uint32(p[8:]),
		Generation: le.Uint64(p[16:])}, nil
}

func snapshotString(it []byte, off, n uint32) ([]byte, error) {
	if off < CgroupsItemFixed || uint64(off)+uint64(n)+1 > uint64(len(it)) {
		return nil, netipc.ErrOutOfBounds
	}
	if it[off+n] != 0 {
		return nil, netipc.ErrMissingNUL
	}
	return it[off : off+n : off+n], nil
}

// Item returns item index. Errors: ErrInvalidArgument (index), ErrBadLayout,
// ErrBadFlags, ErrOutOfBounds, ErrMissingNUL, ErrOverlap (name and path
// ranges, NULs included, overlap).
func (v *CgroupsView) Item(index uint32) (CgroupItem, error) {
	if index >= v.ItemCount {
		return CgroupItem{}, netipc.ErrInvalidArgument
	}
	e := v.Payload[CgroupsResponseHeader+uint64(index)*8:]
	off, ilen := uint64(le.Uint32(e)), uint64(le.Uint32(e[4:]))
	base := snapshotPackedStart(v.ItemCount) + off
	it := v.Payload[base : base+ilen : base+ilen]
	if le.Uint16(it) != 1 {
		return CgroupItem{}, netipc.ErrBadLayout
	}
	if le.Uint16(it[2:]) != 0 {
		return CgroupItem{}, netipc.ErrBadFlags
	}
	nameOff, nameLen := le.Uint32(it[16:]), le.Uint32(it[20:])
	pathOff, pathLen := le.Uint32(it[24:]), le.Uint32(it[28:])
	name, err := snapshotString(it, nameOff, nameLen)
	if err != nil {
		return CgroupItem{}, err
	}
	path, err := snapshotString(it, pathOff, pathLen)
	if err != nil {
		return CgroupItem{}, err
	}
	if overlap(nameOff, nameLen, pathOff, pathLen) {
		return CgroupItem{}, netipc.ErrOverlap
	}
	return CgroupItem{Hash: le.Uint32(it[4:]), Options: le.Uint32(it[8:]),
		Enabled: le.Uint32(it[12:]), Name: name, Path: path}, nil
}

// overlap reports whether [aOff, aOff+aLen] and [bOff, bOff+bLen] share a byte.
func overlap(aOff, aLen, bOff, bLen uint32) bool {
	return uint64(aOff) <= uint64(bOff)+uint64(bLen) && uint64(bOff) <= uint64(aOff)+uint64(aLen)
}
