// Package protocol is the netipc wire envelope (plugin-ipc v1): the 32-byte
// outer header, the 32-byte chunk continuation header, Level 1 batch
// directories and the HELLO / HELLO_ACK handshake payloads with the server's
// negotiation rules.
//
// Everything here is pure: no I/O, no allocation, no global state. Encoders
// write into caller slices; decoders validate and fill caller structs.
// Integers are little-endian: the protocol uses the host's order and every
// supported host (amd64, arm64, 386) is little-endian. Method payloads are
// in package codec.
package protocol

import (
	"encoding/binary"

	netipc "github.com/netdata/netipc/go"
)

// Wire constants.
const (
	HeaderMagic      = 0x4e495043 // "NIPC"
	ChunkMagic       = 0x4e43484b // "NCHK"
	Version          = 1
	LayoutVersion    = 1
	HeaderSize       = 32
	ChunkHeaderSize  = 32
	HelloSize        = 44
	HelloAckSize     = 48
	BatchEntrySize   = 8
	HandshakeBufSize = 128 // each side reads the handshake into this many bytes

	// Level 1 defaults (not protocol limits).
	MaxPayloadDefault = 1024
	MaxPayloadCap     = 1048576
)

// Message kinds.
const (
	KindRequest  = 1
	KindResponse = 2
	KindControl  = 3
)

// FlagBatch marks a batch message.
const FlagBatch = 0x0001

// Transport statuses (envelope, never a business outcome).
const (
	StatusOK            = 0
	StatusBadEnvelope   = 1
	StatusAuthFailed    = 2
	StatusIncompatible  = 3
	StatusUnsupported   = 4
	StatusLimitExceeded = 5
	StatusInternalError = 6
)

// Control opcodes.
const (
	ControlHello    = 1
	ControlHelloAck = 2
)

// Method codes.
const (
	MethodIncrement       = 1
	MethodCgroupsSnapshot = 2
	MethodStringReverse   = 3
	MethodCgroupsLookup   = 4
	MethodAppsLookup      = 5
)

// Transport profile bits (HELLO supported/preferred, HELLO_ACK selected).
const (
	ProfileBaseline    = 0x01 // UDS SEQPACKET / Named Pipe
	ProfileSHMHybrid   = 0x02 // spin then futex / event
	ProfileSHMFutex    = 0x04 // POSIX: run exactly like HYBRID
	ProfileSHMBusywait = 0x04 // Windows: spin and yield only
	ProfileSHMWaitaddr = 0x08 // reserved: never advertise
	ProfileSHMMask     = 0x06
)

var le = binary.LittleEndian

// Header is the 32-byte outer message header.
type Header struct {
	Magic           uint32
	Version         uint16
	HeaderLen       uint16
	Kind            uint16
	Flags           uint16
	Code            uint16
	TransportStatus uint16
	PayloadLen      uint32
	ItemCount       uint32
	MessageID       uint64
}

// MakeHeader returns a header with magic, version and header_len filled in.
func MakeHeader(kind, code, flags, status uint16, payloadLen, itemCount uint32, id uint64) Header {
	return Header{HeaderMagic, Version, HeaderSize, kind, flags, code, status, payloadLen, itemCount, id}
}

// Encode writes every field verbatim into out[0:32].
func (h *Header) Encode(out []byte) {
	_ = out[31]
	le.PutUint32(out[0:], h.Magic)
	le.PutUint16(out[4:], h.Version)
	le.PutUint16(out[6:], h.HeaderLen)
	le.PutUint16(out[8:], h.Kind)
	le.PutUint16(out[10:], h.Flags)
	le.PutUint16(out[12:], h.Code)
	le.PutUint16(out[14:], h.TransportStatus)
	le.PutUint32(out[16:], h.PayloadLen)
	le.PutUint32(out[20:], h.ItemCount)
	le.PutUint64(out[24:], h.MessageID)
}

// DecodeHeader decodes and validates a received header. When len(buf) >= 32
// every field is stored in h even if validation then fails. Errors:
// ErrTruncated, ErrBadMagic, ErrBadVersion, ErrBadHeaderLen, ErrBadKind.
// flags, code, transport_status and message_id are the receiver's business.
func DecodeHeader(buf []byte, h *Header) error {
	if len(buf) < HeaderSize {
		return netipc.ErrTruncated
	}
	h.Magic = le.Uint32(buf[0:])
	h.Version = le.Uint16(buf[4:])
	h.HeaderLen = le.Uint16(buf[6:])
	h.Kind = le.Uint16(buf[8:])
	h.Flags = le.Uint16(buf[10:])
	h.Code = le.Uint16(buf[12:])
	h.TransportStatus = le.Uint16(buf[14:])
	h.PayloadLen = le.Uint32(buf[16:])
	h.ItemCount = le.Uint32(buf[20:])
	h.MessageID = le.Uint64(buf[24:])
	switch {
	case h.Magic != HeaderMagic:
		return netipc.ErrBadMagic
	case h.Version != Version:
		return netipc.ErrBadVersion
	case h.HeaderLen != HeaderSize:
		return netipc.ErrBadHeaderLen
	case h.Kind < KindRequest || h.Kind > KindControl:
		return netipc.ErrBadKind
	}
	return nil
}

// ChunkHeader is the 32-byte continuation header of a chunked message.
type ChunkHeader struct {
	Magic           uint32
	Version         uint16
	Flags           uint16
	MessageID       uint64
	TotalMessageLen uint32 // 32 + payload_len
	ChunkIndex      uint32 // 1 .. ChunkCount-1
	ChunkCount      uint32
	ChunkPayloadLen uint32 // bytes after this header
}

// Encode writes every field verbatim into out[0:32].
func (c *ChunkHeader) Encode(out []byte) {
	_ = out[31]
	le.PutUint32(out[0:], c.Magic)
	le.PutUint16(out[4:], c.Version)
	le.PutUint16(out[6:], c.Flags)
	le.PutUint64(out[8:], c.MessageID)
	le.PutUint32(out[16:], c.TotalMessageLen)
	le.PutUint32(out[20:], c.ChunkIndex)
	le.PutUint32(out[24:], c.ChunkCount)
	le.PutUint32(out[28:], c.ChunkPayloadLen)
}

// DecodeChunkHeader decodes a chunk header; fields are stored when
// len(buf) >= 32. Errors: ErrTruncated, ErrBadMagic, ErrBadVersion,
// ErrBadFlags. Sequence rules belong to the receiver (see ChunkCount).
func DecodeChunkHeader(buf []byte, c *ChunkHeader) error {
	if len(buf) < ChunkHeaderSize {
		return netipc.ErrTruncated
	}
	c.Magic = le.Uint32(buf[0:])
	c.Version = le.Uint16(buf[4:])
	c.Flags = le.Uint16(buf[6:])
	c.MessageID = le.Uint64(buf[8:])
	c.TotalMessageLen = le.Uint32(buf[16:])
	c.ChunkIndex = le.Uint32(buf[20:])
	c.ChunkCount = le.Uint32(buf[24:])
	c.ChunkPayloadLen = le.Uint32(buf[28:])
	switch {
	case c.Magic != ChunkMagic:
		return netipc.ErrBadMagic
	case c.Version != Version:
		return netipc.ErrBadVersion
	case c.Flags != 0:
		return netipc.ErrBadFlags
	}
	return nil
}

// ChunkCount is the number of packets (the first included) that carry a
// payload of payloadLen bytes when the first packet holds firstBytes of it
// and every continuation up to packetSize-32. 0 for invalid input.
func ChunkCount(payloadLen, firstBytes, packetSize uint32) uint32 {
	if packetSize <= HeaderSize || firstBytes > payloadLen {
		return 0
	}
	per := uint64(packetSize - HeaderSize)
	rest := uint64(payloadLen - firstBytes)
	count := 1 + (rest+per-1)/per
	if count > 0xffffffff {
		return 0
	}
	return uint32(count)
}

// ProfileHighest returns the highest set bit of mask (0 for 0).
func ProfileHighest(mask uint32) uint32 {
	if mask == 0 {
		return 0
	}
	bit := uint32(1)
	for mask >>= 1; mask != 0; mask >>= 1 {
		bit <<= 1
	}
	return bit
}

// Align8 rounds x up to a multiple of 8.
func Align8(x uint64) uint64 { return (x + 7) &^ 7 }

// Align64 rounds x up to a multiple of 64.
func Align64(x uint64) uint64 { return (x + 63) &^ 63 }
