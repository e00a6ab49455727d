package protocol

import netipc "github.com/netdata/netipc/go"

// Hello is the 44-byte HELLO payload a client sends.
type Hello struct {
	LayoutVersion           uint16
	Flags                   uint16
	SupportedProfiles       uint32
	PreferredProfiles       uint32
	MaxRequestPayloadBytes  uint32
	MaxRequestBatchItems    uint32
	MaxResponsePayloadBytes uint32
	MaxResponseBatchItems   uint32
	Reserved                uint32
	AuthToken               uint64
	PacketSize              uint32
}

// HelloAck is the 48-byte HELLO_ACK payload a server answers.
type HelloAck struct {
	LayoutVersion                 uint16
	Flags                         uint16
	ServerSupportedProfiles       uint32
	IntersectionProfiles          uint32
	SelectedProfile               uint32
	AgreedMaxRequestPayloadBytes  uint32
	AgreedMaxRequestBatchItems    uint32
	AgreedMaxResponsePayloadBytes uint32
	AgreedMaxResponseBatchItems   uint32
	AgreedPacketSize              uint32
	Reserved                      uint32
	SessionID                     uint64
}

// Encode writes the 44-byte payload (fields verbatim) into out.
func (h *Hello) Encode(out []byte) {
	_ = out[HelloSize-1]
	le.PutUint16(out[0:], h.LayoutVersion)
	le.PutUint16(out[2:], h.Flags)
	le.PutUint32(out[4:], h.SupportedProfiles)
	le.PutUint32(out[8:], h.PreferredProfiles)
	le.PutUint32(out[12:], h.MaxRequestPayloadBytes)
	le.PutUint32(out[16:], h.MaxRequestBatchItems)
	le.PutUint32(out[20:], h.MaxResponsePayloadBytes)
	le.PutUint32(out[24:], h.MaxResponseBatchItems)
	le.PutUint32(out[28:], h.Reserved)
	le.PutUint64(out[32:], h.AuthToken)
	le.PutUint32(out[40:], h.PacketSize)
}

// DecodeHello decodes a HELLO payload as a server does; fields are stored
// when len(buf) >= 44. Errors: ErrTruncated, ErrBadLayout, ErrBadReserved.
// Flags are not checked (upstream C).
func DecodeHello(buf []byte, h *Hello) error {
	if len(buf) < HelloSize {
		return netipc.ErrTruncated
	}
	h.LayoutVersion = le.Uint16(buf[0:])
	h.Flags = le.Uint16(buf[2:])
	h.SupportedProfiles = le.Uint32(buf[4:])
	h.PreferredProfiles = le.Uint32(buf[8:])
	h.MaxRequestPayloadBytes = le.Uint32(buf[12:])
	h.MaxRequestBatchItems = le.Uint32(buf[16:])
	h.MaxResponsePayloadBytes = le.Uint32(buf[20:])
	h.MaxResponseBatchItems = le.Uint32(buf[24:])
	h.Reserved = le.Uint32(buf[28:])
	h.AuthToken = le.Uint64(buf[32:])
	h.PacketSize = le.Uint32(buf[40:])
	if h.LayoutVersion != LayoutVersion {
		return netipc.ErrBadLayout
	}
	if h.Reserved != 0 {
		return netipc.ErrBadReserved
	}
	return nil
}

// Encode writes the 48-byte payload (fields verbatim) into out.
func (a *HelloAck) Encode(out []byte) {
	_ = out[HelloAckSize-1]
	le.PutUint16(out[0:], a.LayoutVersion)
	le.PutUint16(out[2:], a.Flags)
	le.PutUint32(out[4:], a.ServerSupportedProfiles)
	le.PutUint32(out[8:], a.IntersectionProfiles)
	le.PutUint32(out[12:], a.SelectedProfile)
	le.PutUint32(out[16:], a.AgreedMaxRequestPayloadBytes)
	le.PutUint32(out[20:], a.AgreedMaxRequestBatchItems)
	le.PutUint32(out[24:], a.AgreedMaxResponsePayloadBytes)
	le.PutUint32(out[28:], a.AgreedMaxResponseBatchItems)
	le.PutUint32(out[32:], a.AgreedPacketSize)
	le.PutUint32(out[36:], a.Reserved)
	le.PutUint64(out[40:], a.SessionID)
}

// DecodeHelloAck decodes a HELLO_ACK payload as a client does; fields are
// stored when len(buf) >= 48. Errors: ErrTruncated, ErrBadFlags,
// ErrBadLayout (flags first, as upstream C). Reserved is ignored.
func DecodeHelloAck(buf []byte, a *HelloAck) error {
	if len(buf) < HelloAckSize {
		return netipc.ErrTruncated
	}
	a.LayoutVersion = le.Uint16(buf[0:])
	a.Flags = le.Uint16(buf[2:])
	a.ServerSupportedProfiles = le.Uint32(buf[4:])
	a.IntersectionProfiles = le.Uint32(buf[8:])
	a.SelectedProfile = le.Uint32(buf[12:])
	a.AgreedMaxRequestPayloadBytes = le.Uint32(buf[16:])
	a.AgreedMaxRequestBatchItems = le.Uint32(buf[20:])
	a.AgreedMaxResponsePayloadBytes = le.Uint32(buf[24:])
	a.AgreedMaxResponseBatchItems = le.Uint32(buf[28:])
	a.AgreedPacketSize = le.Uint32(buf[32:])
	a.Reserved = le.Uint32(buf[36:])
	a.SessionID = le.Uint64(buf[40:])
	if a.Flags != 0 {
		return netipc.ErrBadFlags
	}
	if a.LayoutVersion != LayoutVersion {
		return netipc.ErrBadLayout
	}
	return nil
}
