package protocol

import (
	"crypto/subtle"

	netipc "github.com/netdata/netipc/go"
)

// ServerOffer is what a server brings to a handshake (defaults applied).
type ServerOffer struct {
	SupportedProfiles  uint32
	PreferredProfiles  uint32
	MaxRequestPayload  uint32
	MaxResponsePayload uint32
	PacketSize         uint32
	AuthToken          uint64
}

// HandshakeClose is the decision "close without an ACK".
const HandshakeClose = -1

// MaxAckPayload is the largest agreed response payload (and SHM area
// capacity) a client accepts from a server before allocating for it.
const MaxAckPayload = 64 << 20

func tokenEqual(a, b uint64) bool {
	var x, y [8]byte
	le.PutUint64(x[:], a)
	le.PutUint64(y[:], b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// Decide runs the server's HELLO decision in upstream C's order (wire.md
// §4.1): header, HELLO kind/code, length, layout, reserved, common profile
// (UNSUPPORTED), token (AUTH_FAILED), request ceiling (LIMIT_EXCEEDED),
// packet size (INCOMPATIBLE). msg is the whole received HELLO message. It
// returns a transport status to answer with (ack filled for StatusOK, a
// rejection payload otherwise) or HandshakeClose.
func Decide(msg []byte, offer *ServerOffer, sessionID uint64, hello *Hello, ack *HelloAck) int {
	*ack = HelloAck{LayoutVersion: LayoutVersion}
	var h Header
	err := DecodeHeader(msg, &h)
	if err == netipc.ErrBadVersion && h.HeaderLen == HeaderSize && h.Kind == KindControl &&
		h.Code == ControlHello {
		return StatusIncompatible // a HELLO from another protocol version
	}
	if err != nil || h.Kind != KindControl || h.Code != ControlHello {
		return HandshakeClose
	}
	switch DecodeHello(msg[HeaderSize:], hello) {
	case nil:
	case netipc.ErrBadLayout:
		return StatusIncompatible
	default: // truncated, reserved != 0
		return HandshakeClose
	}
	inter := hello.SupportedProfiles & offer.SupportedProfiles
	if inter == 0 {
		return StatusUnsupported
	}
	if !tokenEqual(hello.AuthToken, offer.AuthToken) {
		return StatusAuthFailed
	}
	if hello.MaxRequestPayloadBytes > offer.MaxRequestPayload {
		return StatusLimitExceeded
	}
	packet := hello.PacketSize
	if offer.PacketSize < packet {
		packet = offer.PacketSize
	}
	if packet <= HeaderSize {
		return StatusIncompatible
	}
	pref := inter & hello.PreferredProfiles & offer.PreferredProfiles
	if pref == 0 {
		pref = inter
	}
	ack.ServerSupportedProfiles = offer.SupportedProfiles
	ack.IntersectionProfiles = inter
	ack.SelectedProfile = ProfileHighest(pref)
	ack.AgreedMaxRequestPayloadBytes = hello.MaxRequestPayloadBytes
	ack.AgreedMaxRequestBatchItems = hello.MaxRequestBatchItems
	ack.AgreedMaxResponsePayloadBytes = offer.MaxResponsePayload
	ack.AgreedMaxResponseBatchItems = hello.MaxRequestBatchItems
	ack.AgreedPacketSize = packet
	ack.SessionID = sessionID
	return StatusOK
}

// EncodeAckMessage writes the 80-byte HELLO_ACK message.
func EncodeAckMessage(status int, ack *HelloAck, out []byte) {
	h := MakeHeader(KindControl, ControlHelloAck, 0, uint16(status), HelloAckSize, 1, 0)
	h.Encode(out)
	ack.Encode(out[HeaderSize:])
}

// EncodeHelloMessage writes the 76-byte HELLO message.
func EncodeHelloMessage(hello *Hello, out []byte) {
	h := MakeHeader(KindControl, ControlHello, 0, 0, HelloSize, 1, 0)
	h.Encode(out)
	hello.Encode(out[HeaderSize:])
}

// ClientResult interprets a received HELLO_ACK message against the HELLO
// this client sent. Errors: ErrIncompatible (other protocol version, bad
// layout, or the server's INCOMPATIBLE / UNSUPPORTED... see below),
// ErrAuthFailed, ErrUnsupported, ErrLimitExceeded, ErrBusy (INTERNAL_ERROR:
// our server at its session limit), ErrHandshake (another status),
// ErrProtocol (malformed, or agreed values this HELLO never allowed).
//
// A client never trusts the ACK's sizes: before anything is allocated it
// rejects an agreed request payload or batch above the proposal, a response
// batch above the larger proposed batch, a packet size above the proposal
// or <= 32, and a response payload above MaxAckPayload.
func ClientResult(msg []byte, hello *Hello, ack *HelloAck) error {
	var h Header
	err := DecodeHeader(msg, &h)
	if err == netipc.ErrBadVersion {
		return netipc.ErrIncompatible
	}
	if err != nil || h.Kind != KindControl || h.Code != ControlHelloAck {
		return netipc.ErrProtocol
	}
	switch h.TransportStatus {
	case StatusOK:
	case StatusAuthFailed:
		return netipc.ErrAuthFailed
	case StatusUnsupported:
		return netipc.ErrUnsupported
	case StatusIncompatible:
		return netipc.ErrIncompatible
	case StatusLimitExceeded:
		return netipc.ErrLimitExceeded
	case StatusInternalError:
		return netipc.ErrBusy
	default:
		return &netipc.Error{Op: "handshake", Code: netipc.ErrHandshake, Status: h.TransportStatus}
	}
	switch DecodeHelloAck(msg[HeaderSize:], ack) {
	case nil:
	case netipc.ErrBadLayout:
		return netipc.ErrIncompatible
	default:
		return netipc.ErrProtocol
	}
	maxBatch := hello.MaxRequestBatchItems
	if hello.MaxResponseBatchItems > maxBatch {
		maxBatch = hello.MaxResponseBatchItems
	}
	switch {
	case ack.AgreedPacketSize <= HeaderSize, ack.AgreedPacketSize > hello.PacketSize,
		ack.AgreedMaxRequestPayloadBytes > hello.MaxRequestPayloadBytes,
		ack.AgreedMaxRequestBatchItems > hello.MaxRequestBatchItems,
		ack.AgreedMaxResponseBatchItems > maxBatch,
		ack.AgreedMaxResponsePayloadBytes > MaxAckPayload:
		return &netipc.Error{Op: "handshake", Code: netipc.ErrProtocol}
	}
	return nil
}
