// Package codec holds the netipc method payloads: INCREMENT (1),
// CGROUPS_SNAPSHOT (2), STRING_REVERSE (3), CGROUPS_LOOKUP (4) and
// APPS_LOOKUP (5). A payload is the bytes after the 32-byte outer header
// (or one Level 1 batch item); codecs never see the header.
//
// Encoders and builders write into caller slices and never allocate. When a
// slice is too small they return netipc.ErrBufferTooSmall together with the
// exact number of bytes needed. Decoders are zero-copy: every []byte they
// return (strings, keys, labels) aliases the payload and is valid exactly as
// long as the caller keeps that payload unchanged; copy what you keep.
// Strings on the wire carry a NUL after their bytes, which views exclude.
// Integers are little-endian (see package protocol).
package codec

import (
	"bytes"
	"encoding/binary"

	netipc "github.com/netdata/netipc/go"
)

var le = binary.LittleEndian

func align8(x uint64) uint64 { return (x + 7) &^ 7 }

const maxU32 = 0xffffffff

// ------------------------------------------------------------- INCREMENT

// IncrementSize is the size of an INCREMENT request and response.
const IncrementSize = 8

// EncodeIncrement writes the 8-byte value; it returns the length (8).
func EncodeIncrement(value uint64, buf []byte) (int, error) {
	if len(buf) < IncrementSize {
		return IncrementSize, netipc.ErrBufferTooSmall
	}
	le.PutUint64(buf, value)
	return IncrementSize, nil
}

// DecodeIncrement needs >= 8 bytes (ErrTruncated); extra bytes are ignored.
func DecodeIncrement(p []byte) (uint64, error) {
	if len(p) < IncrementSize {
		return 0, netipc.ErrTruncated
	}
	return le.Uint64(p), nil
}

// --------------------------------------------------------- STRING_REVERSE

// StringReverseFixed is the fixed part {u32 offset = 8, u32 length}.
const StringReverseFixed = 8

// EncodeStringReverse writes {8, len, bytes, NUL}: 9 + len(s) bytes
// (interior NULs allowed). ErrSizeOverflow beyond 4 GiB.
func EncodeStringReverse(s []byte, buf []byte) (int, error) {
	n := uint64(StringReverseFixed) + uint64(len(s)) + 1
	if n > maxU32 {
		return 0, netipc.ErrSizeOverflow
	}
	if uint64(len(buf)) < n {
		return int(n), netipc.ErrBufferTooSmall
	}
	le.PutUint32(buf, StringReverseFixed)
	le.PutUint32(buf[4:], uint32(len(s)))
	copy(buf[StringReverseFixed:], s)
	buf[n-1] = 0
	return int(n), nil
}

// DecodeStringReverse returns a view of the string. Errors: ErrTruncated
// (< 8 bytes), ErrBadField (offset != 8), ErrOutOfBounds (9 + length >
// len), ErrMissingNUL. Trailing bytes are ignored.
func DecodeStringReverse(p []byte) ([]byte, error) {
	if len(p) < StringReverseFixed {
		return nil, netipc.ErrTruncated
	}
	if le.Uint32(p) != StringReverseFixed {
		return nil, netipc.ErrBadField
	}
	n := uint64(le.Uint32(p[4:]))
	if StringReverseFixed+n+1 > uint64(len(p)) {
		return nil, netipc.ErrOutOfBounds
	}
	if p[StringReverseFixed+n] != 0 {
		return nil, netipc.ErrMissingNUL
	}
	return p[StringReverseFixed : StringReverseFixed+n : StringReverseFixed+n], nil
}

// Djb2 is h = h*33 + c from 5381 (u32 wrap): the cgroup name hash upstream
// tests use. The snapshot's hash is producer-defined and never recomputed.
func Djb2(s []byte) uint32 {
	h := uint32(5381)
	for _, c := range s {
		h = h*33 + uint32(c)
	}
	return h
}

func hasNUL(s []byte) bool { return bytes.IndexByte(s, 0) >= 0 }
