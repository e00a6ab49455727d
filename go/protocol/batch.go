package protocol

import netipc "github.com/netdata/netipc/go"

// BatchBuilder builds a Level 1 batch payload of exactly ItemCount items
// into a caller buffer: a directory of {offset, length} entries, then the
// items at 8-aligned offsets of the packed area, zero padded, final padding
// included. It never allocates; once the buffer is too small it keeps
// counting so Finish reports the exact size needed.
type BatchBuilder struct {
	buf       []byte
	itemCount uint32
	added     uint32
	packed    uint64 // aligned end of the last item, relative to the packed area
	err       error  // sticky
}

// NewBatchBuilder starts a batch of itemCount items in buf (nil to only
// compute the size).
func NewBatchBuilder(buf []byte, itemCount uint32) BatchBuilder {
	return BatchBuilder{buf: buf, itemCount: itemCount}
}

func (b *BatchBuilder) dir() uint64 { return uint64(b.itemCount) * BatchEntrySize }

// Add appends one item. Errors: ErrBadItemCount (more than announced),
// ErrBufferTooSmall (keeps counting), ErrSizeOverflow (beyond 4 GiB);
// sticky, reported again by Finish.
func (b *BatchBuilder) Add(item []byte) error {
	if b.err != nil && b.err != netipc.ErrBufferTooSmall {
		return b.err
	}
	if b.added >= b.itemCount {
		b.err = netipc.ErrBadItemCount
		return b.err
	}
	off := b.packed
	end := Align8(off + uint64(len(item)))
	total := b.dir() + end
	if total > 0xffffffff {
		b.err = netipc.ErrSizeOverflow
		return b.err
	}
	if b.err == nil && total <= uint64(len(b.buf)) {
		packed := b.buf[b.dir():]
		e := b.buf[uint64(b.added)*BatchEntrySize:]
		le.PutUint32(e, uint32(off))
		le.PutUint32(e[4:], uint32(len(item)))
		copy(packed[off:], item)
		for i := off + uint64(len(item)); i < end; i++ {
			packed[i] = 0
		}
	} else {
		b.err = netipc.ErrBufferTooSmall
	}
	b.packed = end
	b.added++
	return b.err
}

// Finish completes the batch and returns the payload size, or on
// ErrBufferTooSmall the exact size the buffer must have. ErrBadItemCount
// when fewer items than announced were added.
func (b *BatchBuilder) Finish() (int, error) {
	if b.err != nil && b.err != netipc.ErrBufferTooSmall {
		return 0, b.err
	}
	if b.added != b.itemCount {
		b.err = netipc.ErrBadItemCount
		return 0, b.err
	}
	total := b.dir() + b.packed
	if total > uint64(len(b.buf)) {
		b.err = netipc.ErrBufferTooSmall
		return int(total), b.err
	}
	return int(total), nil
}

func batchEntry(p []byte, packedLen uint64, i uint32) (off, length uint32, err error) {
	e := p[uint64(i)*BatchEntrySize:]
	off, length = le.Uint32(e), le.Uint32(e[4:])
	if off%8 != 0 {
		return 0, 0, netipc.ErrBadAlignment
	}
	if uint64(off)+uint64(length) > packedLen {
		return 0, 0, netipc.ErrOutOfBounds
	}
	return off, length, nil
}

// ValidateBatch checks a batch directory (receivers do this only for BATCH
// messages with more than one item). Errors: ErrTruncated, ErrBadAlignment,
// ErrOutOfBounds. Order and overlap are not checked, as in the protocol.
func ValidateBatch(payload []byte, itemCount uint32) error {
	dir := uint64(itemCount) * BatchEntrySize
	if dir > uint64(len(payload)) {
		return netipc.ErrTruncated
	}
	packedLen := uint64(len(payload)) - dir
	for i := uint32(0); i < itemCount; i++ {
		if _, _, err := batchEntry(payload, packedLen, i); err != nil {
			return err
		}
	}
	return nil
}

// BatchItem returns a view of item index (re-checking its entry); the view
// aliases payload. Errors: ErrInvalidArgument (index), and those of
// ValidateBatch for that entry.
func BatchItem(payload []byte, itemCount, index uint32) ([]byte, error) {
	if index >= itemCount {
		return nil, netipc.ErrInvalidArgument
	}
	dir := uint64(itemCount) * BatchEntrySize
	if dir > uint64(len(payload)) {
		return nil, netipc.ErrTruncated
	}
	off, length, err := batchEntry(payload, uint64(len(payload))-dir, index)
	if err != nil {
		return nil, err
	}
	start := dir + uint64(off)
	return payload[start : start+uint64(length) : start+uint64(length)], nil
}
