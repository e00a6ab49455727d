package transport

import (
	"context"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// conn is a platform's baseline connection: it moves whole packets (a UDS
// SEQPACKET record, a Named Pipe message) made of two parts, so framing
// needs no copies where the OS allows it.
type conn interface {
	// send sends one packet a+b, waiting for room until deadline or ctx.
	// Errors: TIMEOUT, ABORTED, DISCONNECTED, IO.
	send(ctx context.Context, a, b []byte, deadline time.Time) error
	// recv receives one packet, its first len(a) bytes into a and the rest
	// into b. A longer packet returns ErrTooLarge with the parts filled.
	// Errors: TIMEOUT, ABORTED, DISCONNECTED, TOO_LARGE, IO.
	recv(ctx context.Context, a, b []byte, deadline time.Time) (int, error)
	// autoPacketSize is the packet size this side proposes by default.
	autoPacketSize() uint32
	// reserve is told the largest packet the session will move, once the
	// limits are agreed (transports that copy into one buffer allocate it).
	reserve(maxPacket int) error
	// skipRest drops what is left of a packet after recv returned
	// ErrTooLarge, so the next recv starts at the next packet: a SEQPACKET
	// socket already dropped it, a message-mode pipe still holds it.
	skipRest(ctx context.Context, deadline time.Time) error
	// peerGone is a zero-wait liveness probe.
	peerGone() bool
	close()
}

// region is one session's shared-memory data plane.
type region interface {
	requestCapacity() uint32
	responseCapacity() uint32
	// publish copies hdr+payload into this side's area and signals the
	// peer. Errors: INVALID_ARGUMENT (empty), TOO_LARGE (beyond the area).
	publish(hdr, payload []byte) error
	// consume waits for the peer's next message and copies it into buf.
	// spinOnly: spin briefly and return TIMEOUT without sleeping. Waits
	// sleep in slices of at most 100 ms, after which ctx and the liveness
	// connection are checked. Errors: TIMEOUT, ABORTED, DISCONNECTED,
	// TOO_LARGE and CORRUPT (both consumed).
	consume(ctx context.Context, buf []byte, deadline time.Time, spinOnly bool, liveness conn) (int, error)
	close()
}

// Session is an established Level 1 session (client or server side).
type Session struct {
	conn conn
	shm  region // nil on the baseline
	info SessionInfo

	// A failed receive leaves the stream unusable for reading, but a server
	// may still answer (LIMIT_EXCEEDED, BAD_ENVELOPE) before closing; a
	// failed send ends both directions.
	rxBroken, txBroken bool

	txMaxPayload, txMaxBatch uint32
	rxMaxPayload, rxMaxBatch uint32

	txHeader    [protocol.HeaderSize]byte
	chunkHeader [protocol.ChunkHeaderSize]byte
	rxBuf       []byte // 32-byte header + largest receivable payload

	inFlight    []uint64 // client: ids of unanswered requests
	inFlightMax int

	// Server: once a request has begun, its remaining chunks get at least
	// this long, whatever the receive's own (short, polling) deadline.
	rest time.Duration
}

// Info returns the agreed parameters of the session.
func (s *Session) Info() *SessionInfo { return &s.info }

// InFlight returns the number of client requests awaiting a response.
func (s *Session) InFlight() int { return len(s.inFlight) }

// Close closes the session (server: also removes its SHM region).
func (s *Session) Close() error {
	if s.shm != nil {
		s.shm.close()
		s.shm = nil
	}
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	s.rxBroken, s.txBroken = true, true
	return nil
}

// setup allocates the session's buffers once the limits are agreed.
func (s *Session) setup(ack *protocol.HelloAck, server bool, maxInFlight uint32) error {
	i := &s.info
	*i = SessionInfo{
		IsServer:           server,
		SelectedProfile:    ack.SelectedProfile,
		MaxRequestPayload:  ack.AgreedMaxRequestPayloadBytes,
		MaxRequestBatch:    ack.AgreedMaxRequestBatchItems,
		MaxResponsePayload: ack.AgreedMaxResponsePayloadBytes,
		MaxResponseBatch:   ack.AgreedMaxResponseBatchItems,
		PacketSize:         ack.AgreedPacketSize,
		SessionID:          ack.SessionID,
		ServerProfiles:     ack.ServerSupportedProfiles,
	}
	if s.shm != nil {
		i.SHMRequestCapacity = s.shm.requestCapacity()
		i.SHMResponseCapacity = s.shm.responseCapacity()
	}
	if server {
		s.txMaxPayload, s.txMaxBatch = i.MaxResponsePayload, i.MaxResponseBatch
		s.rxMaxPayload, s.rxMaxBatch = i.MaxRequestPayload, i.MaxRequestBatch
	} else {
		s.txMaxPayload, s.txMaxBatch = i.MaxRequestPayload, i.MaxRequestBatch
		s.rxMaxPayload, s.rxMaxBatch = i.MaxResponsePayload, i.MaxResponseBatch
	}
	// Room for the largest legal message and, over SHM, for whatever the
	// peer's area can hold, so an over-limit request can still be read and
	// answered with LIMIT_EXCEEDED.
	capacity := uint64(protocol.HeaderSize) + uint64(s.rxMaxPayload)
	if s.shm != nil {
		area := i.SHMResponseCapacity
		if server {
			area = i.SHMRequestCapacity
		}
		if uint64(area) > capacity {
			capacity = uint64(area)
		}
	} else {
		most := s.txMaxPayload
		if s.rxMaxPayload > most {
			most = s.rxMaxPayload
		}
		packet := uint64(protocol.HeaderSize) + uint64(most)
		if packet > uint64(i.PacketSize) {
			packet = uint64(i.PacketSize)
		}
		if err := s.conn.reserve(int(packet)); err != nil {
			return err
		}
	}
	if capacity > maxInt {
		return netipc.ErrNoMemory
	}
	s.rxBuf = make([]byte, capacity)
	if !server {
		s.inFlightMax = int(maxInFlight)
		if s.shm != nil {
			s.inFlightMax = 1
		}
		s.inFlight = make([]uint64, 0, s.inFlightMax)
	}
	return nil
}

const maxInt = uint64(^uint(0) >> 1)

// ------------------------------------------------------------------ server

func readHello(ctx context.Context, c conn, buf []byte, deadline time.Time) (int, error) {
	n, err := c.recv(ctx, buf, nil, deadline)
	// Upstream reads the handshake into 128 bytes and never notices a longer
	// record: the first 128 bytes decide, the rest is dropped.
	if err == netipc.ErrTooLarge {
		err = c.skipRest(ctx, deadline)
	}
	return n, err
}

func statusError(status int) error {
	switch status {
	case protocol.StatusAuthFailed:
		return netipc.ErrAuthFailed
	case protocol.StatusUnsupported:
		return netipc.ErrUnsupported
	case protocol.StatusIncompatible:
		return netipc.ErrIncompatible
	case protocol.StatusLimitExceeded:
		return netipc.ErrLimitExceeded
	}
	return netipc.ErrHandshake
}

// precreateSHM creates the session's regions before the HELLO is read, as
// peers expect them to exist when they read the ACK. Profiles whose region
// cannot be created are dropped from this accept's offer.
func precreateSHM(regions *[2]region, runDir, service string, sid uint64, o *protocol.ServerOffer) uint32 {
	offered := o.SupportedProfiles
	want := offered & shmProfiles
	if want == 0 {
		return offered
	}
	req := protocol.Align64(protocol.HeaderSize + uint64(o.MaxRequestPayload))
	resp := protocol.Align64(protocol.HeaderSize + uint64(o.MaxResponsePayload))
	if req > 0xffffffff || resp > 0xffffffff {
		return offered &^ want // 32 + limit overflows: no SHM offered
	}
	if !shmRegionPerProfile {
		r, err := shmCreate(runDir, service, sid, want, o.AuthToken, uint32(req), uint32(resp))
		if err != nil {
			return offered &^ want
		}
		regions[0] = r
		return offered
	}
	for bit := uint32(protocol.ProfileSHMHybrid); bit <= protocol.ProfileSHMBusywait; bit <<= 1 {
		if want&bit == 0 {
			continue
		}
		r, err := shmCreate(runDir, service, sid, bit, o.AuthToken, uint32(req), uint32(resp))
		if err != nil {
			offered &^= bit
			continue
		}
		regions[bit>>2] = r
	}
	return offered
}

func makeOffer(cfg *Config, c conn) protocol.ServerOffer {
	o := protocol.ServerOffer{
		SupportedProfiles:  or32(cfg.SupportedProfiles, protocol.ProfileBaseline),
		MaxRequestPayload:  or32(cfg.MaxRequestPayload, protocol.MaxPayloadDefault),
		MaxResponsePayload: or32(cfg.MaxResponsePayload, protocol.MaxPayloadDefault),
		PacketSize:         or32(cfg.PacketSize, c.autoPacketSize()),
		AuthToken:          cfg.AuthToken,
	}
	if cfg.PacketSize != 0 && cfg.PacketSize > c.autoPacketSize() {
		o.PacketSize = c.autoPacketSize() // a configured size is clamped like the automatic one
	}
	// Upstream servers run with preferred = supported; 0 here means that.
	o.PreferredProfiles = or32(cfg.PreferredProfiles, o.SupportedProfiles)
	return o
}

// Pending is an accepted connection whose handshake has not run yet.
type Pending struct {
	conn    conn
	runDir  string
	service string
}

// Close closes a pending connection without a word.
func (p *Pending) Close() {
	if p.conn != nil {
		p.conn.close()
		p.conn = nil
	}
}

// Handshake runs the server handshake on a pending connection and consumes
// it. When the configuration offers SHM, the region for sessionID is created
// before the HELLO is read (as peers expect) and kept only if selected. The
// handshake is bounded by cfg.HandshakeTimeout (and ctx). Errors: TIMEOUT
// (silent client), DISCONNECTED, HANDSHAKE (malformed HELLO, closed without
// answer), AUTH_FAILED / UNSUPPORTED / INCOMPATIBLE / LIMIT_EXCEEDED
// (rejected with that ACK), SHM_ALLOC (an SHM-only server without a
// region), IO.
func (p *Pending) Handshake(ctx context.Context, cfg *Config, sessionID uint64) (*Session, error) {
	c := p.conn
	p.conn = nil
	if c == nil {
		return nil, netipc.ErrInvalidArgument
	}
	if cfg == nil {
		cfg = &Config{}
	}
	offer := makeOffer(cfg, c)
	hs := orDur(cfg.HandshakeTimeout, HandshakeTimeoutDefault)
	deadline := callDeadline(ctx, time.Now().Add(hs))
	var regions [2]region
	closeRegions := func() {
		for i := range regions {
			if regions[i] != nil {
				regions[i].close()
				regions[i] = nil
			}
		}
	}
	offer.SupportedProfiles = precreateSHM(&regions, p.runDir, p.service, sessionID, &offer)
	offer.PreferredProfiles &= offer.SupportedProfiles
	fail := func(err error) (*Session, error) {
		closeRegions()
		c.close()
		return nil, err
	}
	if offer.SupportedProfiles == 0 {
		return fail(netipc.ErrSHMAlloc) // an SHM-only server that could not create it
	}
	var buf [protocol.HandshakeBufSize]byte
	n, err := readHello(ctx, c, buf[:], deadline)
	if err != nil {
		return fail(err)
	}
	var hello protocol.Hello
	var ack protocol.HelloAck
	status := protocol.Decide(buf[:n], &offer, sessionID, &hello, &ack)
	if status == protocol.HandshakeClose {
		return fail(netipc.ErrHandshake)
	}
	protocol.EncodeAckMessage(status, &ack, buf[:])
	if err := c.send(ctx, buf[:protocol.HeaderSize+protocol.HelloAckSize], nil, deadline); err != nil {
		return fail(err)
	}
	if status != protocol.StatusOK {
		return fail(statusError(status))
	}
	s := &Session{conn: c, rest: hs}
	if sel := ack.SelectedProfile; sel&shmProfiles != 0 {
		idx := 0
		if shmRegionPerProfile {
			idx = int(sel >> 2)
		}
		s.shm, regions[idx] = regions[idx], nil
		if s.shm == nil {
			return fail(netipc.ErrSHMAlloc) // selected but not prepared
		}
	}
	closeRegions()
	if err := s.setup(&ack, true, 0); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Reject answers the client's HELLO (read within timeout; 0 = the default
// handshake timeout) with a rejection ACK carrying status, then closes the
// connection. Used for a session limit (INTERNAL_ERROR, read as BUSY).
func (p *Pending) Reject(ctx context.Context, status uint16, timeout time.Duration) {
	c := p.conn
	p.conn = nil
	if c == nil {
		return
	}
	defer c.close()
	deadline := callDeadline(ctx, time.Now().Add(orDur(timeout, HandshakeTimeoutDefault)))
	var buf [protocol.HandshakeBufSize]byte
	if _, err := readHello(ctx, c, buf[:], deadline); err != nil {
		return
	}
	ack := protocol.HelloAck{LayoutVersion: protocol.LayoutVersion}
	protocol.EncodeAckMessage(int(status), &ack, buf[:])
	c.send(ctx, buf[:protocol.HeaderSize+protocol.HelloAckSize], nil, deadline)
}

// ------------------------------------------------------------------ client

// isAttachFailure reports the errors with which Connect says "the SHM
// region could not be attached: reconnect without SHM".
func isAttachFailure(err error) bool {
	switch netipc.CodeOf(err) {
	case netipc.ErrSHMNotReady, netipc.ErrSHMBadSize, netipc.ErrSHMBadProfile, netipc.ErrSHMAlloc,
		netipc.ErrBadMagic, netipc.ErrBadVersion, netipc.ErrBadHeaderLen:
		return true
	}
	return false
}

// IsAttachFailure reports whether a Connect error means the SHM region
// could not be attached (Level 2 then reconnects on the baseline).
func IsAttachFailure(err error) bool { return isAttachFailure(err) }

func attachSHM(ctx context.Context, runDir, service string, ack *protocol.HelloAck, token uint64,
	pol *peerPolicy, deadline time.Time) (region, error) {
	for {
		r, err := shmAttach(runDir, service, ack.SessionID, ack.SelectedProfile, token, pol)
		if err == nil {
			return r, nil
		}
		if c := netipc.CodeOf(err); c != netipc.ErrSHMNotReady && c != netipc.ErrBadMagic {
			return nil, err
		}
		if cerr := ctxErr(ctx); cerr != nil {
			return nil, cerr
		}
		if !time.Now().Add(shmAttachRetry).Before(deadline) {
			return nil, err
		}
		time.Sleep(shmAttachRetry)
	}
}

// Connect connects to (runDir, service) and runs the client handshake; when
// an SHM profile is selected it attaches the region, retrying one that is
// not ready for cfg.SHMAttachTimeout (never past ctx's deadline).
// cfg.HandshakeTimeout (and ctx) bound everything up to the ACK, including
// waiting for room in a busy listener's backlog. The server's identity is
// checked on POSIX (run dir permissions, peer uid, region owner). Errors:
// BAD_SERVICE_NAME, PATH_TOO_LONG, NOT_FOUND, INSECURE_DIR, PEER_REJECTED,
// AUTH_FAILED, UNSUPPORTED, INCOMPATIBLE, LIMIT_EXCEEDED, BUSY, HANDSHAKE,
// PROTOCOL, TIMEOUT, ABORTED, DISCONNECTED, the attach failures
// (IsAttachFailure), IO.
func Connect(ctx context.Context, runDir, service string, cfg *Config) (*Session, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if runDir == "" {
		return nil, netipc.ErrInvalidArgument
	}
	if !ValidServiceName(service) {
		return nil, netipc.ErrBadServiceName
	}
	start := time.Now()
	deadline := callDeadline(ctx, start.Add(orDur(cfg.HandshakeTimeout, HandshakeTimeoutDefault)))
	pol, err := clientPolicy(runDir, cfg)
	if err != nil {
		return nil, err
	}
	var c conn
	for {
		c, err = dial(runDir, service)
		if netipc.CodeOf(err) != netipc.ErrBusy {
			break
		}
		// A busy listener (a burst of clients filled its backlog) makes room
		// as it accepts; wait for that within the deadline, never longer.
		if cerr := ctxErr(ctx); cerr != nil {
			return nil, cerr
		}
		if !time.Now().Before(deadline) {
			return nil, netipc.ErrTimeout
		}
		time.Sleep(connectRetry)
	}
	if err != nil {
		return nil, err
	}
	if err := pol.checkConn(c); err != nil {
		c.close()
		return nil, err
	}
	hello := protocol.Hello{
		LayoutVersion:           protocol.LayoutVersion,
		SupportedProfiles:       or32(cfg.SupportedProfiles, protocol.ProfileBaseline),
		PreferredProfiles:       cfg.PreferredProfiles,
		MaxRequestPayloadBytes:  or32(cfg.MaxRequestPayload, protocol.MaxPayloadDefault),
		MaxRequestBatchItems:    or32(cfg.MaxRequestBatch, 1),
		MaxResponsePayloadBytes: or32(cfg.MaxResponsePayload, protocol.MaxPayloadDefault),
		MaxResponseBatchItems:   or32(cfg.MaxResponseBatch, 1),
		AuthToken:               cfg.AuthToken,
		PacketSize:              or32(cfg.PacketSize, c.autoPacketSize()),
	}
	if hello.PacketSize > c.autoPacketSize() {
		hello.PacketSize = c.autoPacketSize() // never above what this transport can move
	}
	var buf [protocol.HandshakeBufSize]byte
	protocol.EncodeHelloMessage(&hello, buf[:])
	err = c.send(ctx, buf[:protocol.HeaderSize+protocol.HelloSize], nil, deadline)
	n := 0
	if err == nil {
		n, err = c.recv(ctx, buf[:], nil, deadline)
		if err == netipc.ErrTooLarge { // as readHello: 128 bytes decide
			err = c.skipRest(ctx, deadline)
		}
	}
	var ack protocol.HelloAck
	if err == nil {
		err = protocol.ClientResult(buf[:n], &hello, &ack)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	s := &Session{conn: c}
	// A selected bit that is not one of our SHM profiles (and that we did
	// not offer) runs on the baseline, as upstream C does.
	if sel := ack.SelectedProfile; sel&shmProfiles&hello.SupportedProfiles != 0 {
		r, err := attachSHM(ctx, runDir, service, &ack, hello.AuthToken, pol,
			callDeadline(ctx, time.Now().Add(orDur(cfg.SHMAttachTimeout, SHMAttachTimeoutDefault))))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.shm = r
	} else {
		ack.SelectedProfile = protocol.ProfileBaseline
	}
	if err := s.setup(&ack, false, or32(cfg.MaxInFlight, MaxInFlightDefault)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ---------------------------------------------------------------- in flight

func (s *Session) inFlightFind(id uint64) int {
	for i, v := range s.inFlight {
		if v == id {
			return i
		}
	}
	return -1
}

func (s *Session) inFlightRemove(id uint64) {
	if i := s.inFlightFind(id); i >= 0 {
		last := len(s.inFlight) - 1
		s.inFlight[i] = s.inFlight[last]
		s.inFlight = s.inFlight[:last]
	}
}

func (s *Session) failReceive(err error) error {
	// A transport failure answers nothing that was in flight.
	s.rxBroken = true
	s.inFlight = s.inFlight[:0]
	// A peer that is gone cannot be answered either: without this an SHM
	// publish into a dead peer's region would keep "succeeding".
	if netipc.CodeOf(err) == netipc.ErrDisconnected {
		s.txBroken = true
	}
	return err
}

func (s *Session) failSend(err error) error {
	s.txBroken = true
	return s.failReceive(err)
}

// --------------------------------------------------------------------- send

func (s *Session) sendChunked(ctx context.Context, payload []byte, id uint64, deadline time.Time) error {
	per := s.info.PacketSize - protocol.HeaderSize
	plen := uint32(len(payload))
	count := protocol.ChunkCount(plen, per, s.info.PacketSize)
	if err := s.conn.send(ctx, s.txHeader[:], payload[:per], deadline); err != nil {
		return err
	}
	ch := protocol.ChunkHeader{Magic: protocol.ChunkMagic, Version: protocol.Version, MessageID: id,
		TotalMessageLen: protocol.HeaderSize + plen, ChunkCount: count}
	off := per
	for i := uint32(1); i < count; i++ {
		n := plen - off
		if n > per {
			n = per
		}
		ch.ChunkIndex = i
		ch.ChunkPayloadLen = n
		ch.Encode(s.chunkHeader[:])
		if err := s.conn.send(ctx, s.chunkHeader[:], payload[off:off+n], deadline); err != nil {
			return s.failSend(err) // part of the message is out
		}
		off += n
	}
	return nil
}

// Send sends one message. The caller sets Kind, Code, Flags, ItemCount,
// MessageID and TransportStatus in h; magic, version, header_len and
// payload_len are filled in here. Outbound limits are checked first
// (LIMIT_EXCEEDED, nothing sent). A client REQUEST id enters the in-flight
// set (DUPLICATE_ID if present; LIMIT_EXCEEDED when MaxInFlight are
// pending). Over SHM one request may be outstanding and the message must
// fit the area (TOO_LARGE). Large payloads are chunked on the baseline.
// TIMEOUT / ABORTED before the first packet left keep the session usable;
// any error after part of a message went out leaves it broken. Never
// allocates.
func (s *Session) Send(ctx context.Context, h *protocol.Header, payload []byte, deadline time.Time) error {
	if s.txBroken {
		return netipc.ErrDisconnected
	}
	if uint64(len(payload)) > uint64(s.txMaxPayload) || h.ItemCount > s.txMaxBatch {
		return netipc.ErrLimitExceeded
	}
	track := !s.info.IsServer && h.Kind == protocol.KindRequest
	if track {
		if s.inFlightFind(h.MessageID) >= 0 {
			return netipc.ErrDuplicateID
		}
		if len(s.inFlight) >= s.inFlightMax {
			return netipc.ErrLimitExceeded
		}
	}
	h.Magic = protocol.HeaderMagic
	h.Version = protocol.Version
	h.HeaderLen = protocol.HeaderSize
	h.PayloadLen = uint32(len(payload))
	h.Encode(s.txHeader[:])
	var err error
	switch {
	case s.shm != nil:
		err = s.shm.publish(s.txHeader[:], payload)
	case protocol.HeaderSize+uint64(len(payload)) <= uint64(s.info.PacketSize):
		err = s.conn.send(ctx, s.txHeader[:], payload, callDeadline(ctx, deadline))
	default:
		err = s.sendChunked(ctx, payload, h.MessageID, callDeadline(ctx, deadline))
	}
	if err == nil {
		if track {
			s.inFlight = append(s.inFlight, h.MessageID)
		}
		return nil
	}
	// Nothing left this side: the session is still whole.
	switch netipc.CodeOf(err) {
	case netipc.ErrTimeout, netipc.ErrAborted, netipc.ErrTooLarge, netipc.ErrInvalidArgument:
		if !s.txBroken {
			return err
		}
	}
	return s.failSend(err)
}

// ------------------------------------------------------------------ receive

func (s *Session) receiveChunks(ctx context.Context, h *protocol.Header, first uint32, deadline time.Time) error {
	plen := h.PayloadLen
	per := s.info.PacketSize - protocol.HeaderSize
	expected := protocol.ChunkCount(plen, first, s.info.PacketSize)
	have := first
	for index := uint32(1); have < plen; index++ {
		room := plen - have
		if room > per {
			room = per
		}
		at := protocol.HeaderSize + have
		got, err := s.conn.recv(ctx, s.chunkHeader[:], s.rxBuf[at:at+room], deadline)
		if err == netipc.ErrTooLarge {
			return netipc.ErrBadChunk // overruns the message or the packet size
		}
		if err != nil {
			return err
		}
		var ch protocol.ChunkHeader
		if got < protocol.ChunkHeaderSize || protocol.DecodeChunkHeader(s.chunkHeader[:], &ch) != nil {
			return netipc.ErrBadChunk
		}
		n := uint32(got - protocol.ChunkHeaderSize)
		if ch.ChunkPayloadLen == 0 || ch.ChunkPayloadLen != n || ch.MessageID != h.MessageID ||
			ch.ChunkIndex != index || ch.ChunkCount != expected || ch.TotalMessageLen != protocol.HeaderSize+plen {
			return netipc.ErrBadChunk
		}
		have += n
	}
	return nil
}

func (s *Session) checkMessage(h *protocol.Header) error {
	if h.PayloadLen > s.rxMaxPayload || h.ItemCount > s.rxMaxBatch {
		return netipc.ErrLimitExceeded
	}
	if !s.info.IsServer && h.Kind == protocol.KindResponse && s.inFlightFind(h.MessageID) < 0 {
		return netipc.ErrUnknownID
	}
	return nil
}

func (s *Session) finishMessage(m *Message) error {
	h := &m.Header
	m.Payload = s.rxBuf[protocol.HeaderSize : protocol.HeaderSize+h.PayloadLen : protocol.HeaderSize+h.PayloadLen]
	if h.Flags&protocol.FlagBatch != 0 && h.ItemCount > 1 {
		if err := protocol.ValidateBatch(m.Payload, h.ItemCount); err != nil {
			return err
		}
	}
	if !s.info.IsServer && h.Kind == protocol.KindResponse {
		s.inFlightRemove(h.MessageID)
	}
	return nil
}

// decodeHeader: the decoder's precise reasons all mean "the peer broke the
// envelope" here (PROTOCOL); TRUNCATED stays reserved for a batch payload
// shorter than its directory.
func decodeHeader(buf []byte, h *protocol.Header) error {
	if protocol.DecodeHeader(buf, h) != nil {
		return netipc.ErrProtocol
	}
	return nil
}

func (s *Session) receiveSHM(ctx context.Context, m *Message, deadline time.Time, spinOnly bool) error {
	n, err := s.shm.consume(ctx, s.rxBuf, deadline, spinOnly, s.conn)
	if err != nil {
		return err
	}
	if err := decodeHeader(s.rxBuf[:n], &m.Header); err != nil {
		return err
	}
	// Over SHM the published length is the truth (upstream does not check
	// the header's payload_len).
	m.Header.PayloadLen = uint32(n - protocol.HeaderSize)
	if err := s.checkMessage(&m.Header); err != nil {
		return err
	}
	return s.finishMessage(m)
}

func (s *Session) receiveBaseline(ctx context.Context, m *Message, deadline time.Time, started *bool) error {
	firstCap := len(s.rxBuf)
	if uint64(firstCap) > uint64(s.info.PacketSize) {
		firstCap = int(s.info.PacketSize)
	}
	got, err := s.conn.recv(ctx, s.rxBuf[:firstCap], nil, deadline)
	if err != nil && err != netipc.ErrTooLarge {
		return err
	}
	*started = true
	if derr := decodeHeader(s.rxBuf[:got], &m.Header); derr != nil {
		return derr
	}
	if derr := s.checkMessage(&m.Header); derr != nil {
		return derr
	}
	h := &m.Header
	// Longer than one packet, or longer than the header says: not ours.
	if err == netipc.ErrTooLarge || uint64(got) > protocol.HeaderSize+uint64(h.PayloadLen) {
		return netipc.ErrProtocol
	}
	first := uint32(got - protocol.HeaderSize)
	if first < h.PayloadLen {
		// A server polls with short deadlines; an honest client's large
		// request must not be cut by one, while a stalling one is still
		// dropped after s.rest (0 on the client: its call deadline rules).
		d := deadline
		if s.rest > 0 {
			if r := time.Now().Add(s.rest); !d.IsZero() && r.After(d) {
				d = r
			}
		}
		if err := s.receiveChunks(ctx, h, first, d); err != nil {
			return err
		}
	}
	return s.finishMessage(m)
}

// Receive receives one whole message (chunks reassembled, batch directory
// validated) into the session's buffer; the returned payload is valid until
// the next Receive or Close. It waits until deadline (zero = none) or ctx.
// A dead peer is detected within ~100 ms on every transport, also over SHM.
// TIMEOUT or ABORTED before any byte of a message arrived leave the session
// usable; after that it is broken. On a server session a message that has
// begun gets at least the handshake timeout to arrive whole. Errors:
// TIMEOUT, ABORTED, DISCONNECTED, PROTOCOL, LIMIT_EXCEEDED (payload or
// item count above the agreed limit; m.Header is filled so a server can
// answer), UNKNOWN_ID, BAD_CHUNK, TRUNCATED / BAD_ALIGNMENT / OUT_OF_BOUNDS
// (batch directory), TOO_LARGE, CORRUPT, IO. Never allocates.
func (s *Session) Receive(ctx context.Context, m *Message, deadline time.Time) error {
	if s.rxBroken {
		return netipc.ErrDisconnected
	}
	deadline = callDeadline(ctx, deadline)
	started := false
	var err error
	if s.shm != nil {
		// Most SHM messages arrive while consume still spins: try that
		// first without reading the clock.
		err = s.receiveSHM(ctx, m, deadline, true)
		if err == netipc.ErrTimeout {
			err = s.receiveSHM(ctx, m, deadline, false)
		}
		// SHM consume copies whole messages: a timeout never splits one.
		c := netipc.CodeOf(err)
		started = c != netipc.ErrTimeout && c != netipc.ErrAborted
	} else {
		err = s.receiveBaseline(ctx, m, deadline, &started)
	}
	if err == nil {
		return nil
	}
	if c := netipc.CodeOf(err); !started && (c == netipc.ErrTimeout || c == netipc.ErrAborted) {
		return err
	}
	return s.failReceive(err)
}
