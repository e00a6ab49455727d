package service

import (
	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/transport"
)

// Per-request processing for the managed server: decode the request (a
// codec error becomes BAD_ENVELOPE), call the handler, encode its answer
// into the session's response buffer, and answer every malformed request
// as services.md §6 says.

var errHandler = netipc.ErrHandlerFailed

func handlerResult(err error) error {
	if err == nil || netipc.CodeOf(err) == netipc.ErrBufferTooSmall {
		if err != nil {
			return netipc.ErrBufferTooSmall
		}
		return nil
	}
	return errHandler
}

func isCodecError(err error) bool {
	c := netipc.CodeOf(err)
	return c >= netipc.ErrTruncated && c <= netipc.ErrSizeOverflow
}

func statusFor(err error) uint16 {
	switch {
	case netipc.CodeOf(err) == netipc.ErrBufferTooSmall:
		return protocol.StatusLimitExceeded
	case isCodecError(err):
		return protocol.StatusBadEnvelope
	}
	return protocol.StatusInternalError
}

// dispatch processes one request payload (a whole message or one batch
// item) into out and returns the answer's length.
func (s *Server) dispatch(req, out []byte, b *sessionBuffers) (int, error) {
	switch s.method.code {
	case protocol.MethodIncrement:
		v, err := codec.DecodeIncrement(req)
		if err != nil {
			return 0, err
		}
		a, herr := s.inc(v)
		if err := handlerResult(herr); err != nil {
			return 0, err
		}
		return codec.EncodeIncrement(a, out)
	case protocol.MethodStringReverse:
		in, err := codec.DecodeStringReverse(req)
		if err != nil {
			return 0, err
		}
		if len(out) < codec.StringReverseFixed+1 {
			return 0, netipc.ErrBufferTooSmall
		}
		// The handler writes in place after the fixed part, with room left
		// for the NUL.
		room := out[codec.StringReverseFixed : len(out)-1]
		n, herr := s.rev(in, room)
		if err := handlerResult(herr); err != nil {
			return 0, err
		}
		if n < 0 || n > len(room) { // longer than the agreed response: LIMIT_EXCEEDED
			return 0, netipc.ErrBufferTooSmall
		}
		putU32(out, codec.StringReverseFixed)
		putU32(out[4:], uint32(n))
		out[codec.StringReverseFixed+n] = 0
		return codec.StringReverseFixed + n + 1, nil
	case protocol.MethodCgroupsSnapshot:
		if err := codec.DecodeCgroupsRequest(req); err != nil {
			return 0, err
		}
		n, herr := s.snap(out)
		if err := handlerResult(herr); err != nil {
			return 0, err
		}
		if n < 0 || n > len(out) {
			return 0, netipc.ErrBufferTooSmall
		}
		return n, nil
	case protocol.MethodCgroupsLookup:
		r, err := codec.DecodeCgroupsLookupRequest(req)
		if err != nil {
			return 0, err
		}
		// The request view and the builder live in the session's buffers:
		// handed to the handler they would escape to the heap otherwise.
		b.cgReq = r
		b.cgB = codec.NewCgroupsLookupReplyBuilder(out, &b.cgReq, 0)
		herr := s.cgLook(&b.cgReq, &b.cgB)
		n, berr := b.cgB.Finish()
		return n, lookupResult(herr, berr)
	case protocol.MethodAppsLookup:
		r, err := codec.DecodeAppsLookupRequest(req)
		if err != nil {
			return 0, err
		}
		b.apReq = r
		b.apB = codec.NewAppsLookupReplyBuilder(out, &b.apReq, 0)
		herr := s.apLook(&b.apReq, &b.apB)
		n, berr := b.apB.Finish()
		return n, lookupResult(herr, berr)
	}
	return 0, netipc.ErrInvalidArgument
}

// lookupResult judges the builder first (a handler often returns the error
// it got from Add): an argument error is BAD_ENVELOPE, an overflow
// LIMIT_EXCEEDED; then a failing handler INTERNAL_ERROR; then a short
// answer (BAD_ITEM_COUNT) BAD_ENVELOPE.
func lookupResult(handler, built error) error {
	if netipc.CodeOf(built) == netipc.ErrInvalidArgument {
		built = netipc.ErrBadField
	}
	if built != nil && netipc.CodeOf(built) != netipc.ErrBadItemCount {
		return built
	}
	if handler != nil {
		if netipc.CodeOf(handler) == netipc.ErrBufferTooSmall {
			return netipc.ErrBufferTooSmall
		}
		return errHandler
	}
	return built
}

type sessionBuffers struct {
	resp  []byte // response payload, len = the handler budget
	item  []byte // one batch item's answer
	cgReq codec.CgroupsLookupRequest
	cgB   codec.CgroupsLookupBuilder
	apReq codec.AppsLookupRequest
	apB   codec.AppsLookupBuilder
}

// process runs the handler over a request and returns the response length.
func (s *Server) process(m *transport.Message, b *sessionBuffers) (int, error) {
	h := &m.Header
	if h.Flags&protocol.FlagBatch == 0 {
		return s.dispatch(m.Payload, b.resp, b)
	}
	if !s.method.batchable {
		return 0, netipc.ErrBadField // typed endpoints decode one request: BAD_ENVELOPE
	}
	bb := protocol.NewBatchBuilder(b.resp, h.ItemCount)
	for i := uint32(0); i < h.ItemCount; i++ {
		item, err := protocol.BatchItem(m.Payload, h.ItemCount, i)
		if err != nil {
			return 0, err
		}
		n, err := s.dispatch(item, b.item, b)
		if err == nil {
			err = bb.Add(b.item[:n])
		}
		if err != nil {
			return 0, err // one failed item fails the whole message
		}
	}
	return bb.Finish()
}

// sendStatus sends an error response: empty payload, item_count 1, flags 0.
func (s *Server) sendStatus(sess *transport.Session, req *protocol.Header, status uint16) error {
	atomicAdd(&s.reqErrors)
	h := protocol.MakeHeader(protocol.KindResponse, req.Code, 0, status, 0, 1, req.MessageID)
	return sess.Send(s.forceCtx, &h, nil, nowPlus(errorSendTime))
}

func (s *Server) serve(sess *transport.Session) {
	info := sess.Info()
	budget := int(info.MaxResponsePayload)
	alloc := budget
	if alloc < 1024 {
		alloc = 1024
	}
	b := &sessionBuffers{resp: make([]byte, alloc)[:budget]}
	if s.method.batchable {
		b.item = make([]byte, alloc)[:budget]
	}
	var m transport.Message
	for s.stopCtx.Err() == nil {
		// Wait in slices so a stop is noticed between requests; a message
		// that has begun still gets the handshake timeout to arrive whole.
		err := sess.Receive(s.forceCtx, &m, nowPlus(idleSlice))
		if err != nil {
			switch netipc.CodeOf(err) {
			case netipc.ErrTimeout:
				continue
			case netipc.ErrLimitExceeded:
				s.sendStatus(sess, &m.Header, protocol.StatusLimitExceeded)
			}
			return // EOF, broken framing, stop: close silently
		}
		if m.Header.Kind != protocol.KindRequest {
			return
		}
		if m.Header.ItemCount > s.tcfg.MaxRequestBatch {
			// The handshake echoes whatever batch size the client proposed;
			// this server's own limit still bounds the work per request.
			s.sendStatus(sess, &m.Header, protocol.StatusLimitExceeded)
			return
		}
		if m.Header.Code != s.method.code {
			if s.sendStatus(sess, &m.Header, protocol.StatusUnsupported) != nil {
				return
			}
			continue // the session survives a wrong method
		}
		n, err := s.process(&m, b)
		if err != nil {
			s.sendStatus(sess, &m.Header, statusFor(err))
			return
		}
		flags, items := uint16(0), uint32(1)
		if m.Header.Flags&protocol.FlagBatch != 0 && m.Header.ItemCount >= 1 {
			flags, items = protocol.FlagBatch, m.Header.ItemCount
		}
		h := protocol.MakeHeader(protocol.KindResponse, m.Header.Code, flags, protocol.StatusOK, 0, items, m.Header.MessageID)
		// A client that stops reading cannot pin this goroutine forever.
		if sess.Send(s.forceCtx, &h, b.resp[:n], nowPlus(okSendTime)) != nil {
			return
		}
		atomicAdd(&s.requests)
	}
}
