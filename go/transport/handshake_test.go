package transport

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/netdata/netipc/go/protocol"
)

// Handshake records longer than 128 bytes, which upstream accepts (the
// first 128 bytes decide): the rest of such a record is dropped, so the
// session that follows stays in step. On a Named Pipe the rest is still
// queued after the read and must be read away; a SEQPACKET socket drops it.
func TestLongHandshakeRecords(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{SupportedProfiles: protocol.ProfileBaseline, MaxRequestPayload: 4096,
		MaxResponsePayload: 4096, AuthToken: 5}
	l, err := Listen(dir, "long", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	deadline := time.Now().Add(20 * time.Second)
	ctx := context.Background()
	extra := bytes.Repeat([]byte{0xee}, 150)
	payload := []byte("0123456789abcdef")

	t.Run("long HELLO", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			p, err := l.Accept(ctx)
			if err != nil {
				done <- err
				return
			}
			s, err := p.Handshake(ctx, cfg, 1)
			if err != nil {
				done <- err
				return
			}
			defer s.Close()
			var m Message
			if err := s.Receive(ctx, &m, deadline); err != nil {
				done <- err
				return
			}
			h := protocol.MakeHeader(protocol.KindResponse, m.Header.Code, 0, 0, 0, 1, m.Header.MessageID)
			done <- s.Send(ctx, &h, m.Payload, deadline)
		}()
		c, err := dial(dir, "long")
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		hello := protocol.Hello{LayoutVersion: 1, SupportedProfiles: protocol.ProfileBaseline,
			MaxRequestPayloadBytes: 1024, MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 1024,
			MaxResponseBatchItems: 1, AuthToken: 5, PacketSize: 4096}
		buf := make([]byte, 512)
		protocol.EncodeHelloMessage(&hello, buf)
		if err := c.send(ctx, buf[:protocol.HeaderSize+protocol.HelloSize], extra, deadline); err != nil {
			t.Fatal(err)
		}
		n, err := c.recv(ctx, buf, nil, deadline)
		var ack protocol.HelloAck
		if err != nil || protocol.ClientResult(buf[:n], &hello, &ack) != nil {
			t.Fatalf("ACK: %v", err)
		}
		h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, uint32(len(payload)), 1, 9)
		h.Encode(buf)
		if err := c.send(ctx, buf[:protocol.HeaderSize], payload, deadline); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("server: %v", err)
		}
		n, err = c.recv(ctx, buf, nil, deadline)
		if err != nil || protocol.DecodeHeader(buf[:n], &h) != nil || h.MessageID != 9 ||
			!bytes.Equal(buf[protocol.HeaderSize:n], payload) {
			t.Fatalf("answer: %v %+v", err, h)
		}
	})

	t.Run("long HELLO_ACK", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			p, err := l.Accept(ctx)
			if err != nil {
				done <- err
				return
			}
			defer p.Close()
			buf := make([]byte, 512)
			n, err := p.conn.recv(ctx, buf, nil, deadline)
			var hello protocol.Hello
			if err == nil {
				err = protocol.DecodeHello(buf[protocol.HeaderSize:n], &hello)
			}
			if err != nil {
				done <- err
				return
			}
			ack := protocol.HelloAck{LayoutVersion: 1, ServerSupportedProfiles: protocol.ProfileBaseline,
				IntersectionProfiles: protocol.ProfileBaseline, SelectedProfile: protocol.ProfileBaseline,
				AgreedMaxRequestPayloadBytes:  hello.MaxRequestPayloadBytes,
				AgreedMaxRequestBatchItems:    hello.MaxRequestBatchItems,
				AgreedMaxResponsePayloadBytes: hello.MaxResponsePayloadBytes,
				AgreedMaxResponseBatchItems:   hello.MaxResponseBatchItems,
				AgreedPacketSize:              hello.PacketSize, SessionID: 1}
			protocol.EncodeAckMessage(protocol.StatusOK, &ack, buf)
			if err := p.conn.send(ctx, buf[:protocol.HeaderSize+protocol.HelloAckSize], extra, deadline); err != nil {
				done <- err
				return
			}
			// The client's request, echoed back raw.
			n, err = p.conn.recv(ctx, buf, nil, deadline)
			var h protocol.Header
			if err == nil {
				err = protocol.DecodeHeader(buf[:n], &h)
			}
			if err == nil {
				h.Kind = protocol.KindResponse
				h.Encode(buf)
				err = p.conn.send(ctx, buf[:n], nil, deadline)
			}
			if err == nil {
				time.Sleep(200 * time.Millisecond) // let the client read before the close
			}
			done <- err
		}()
		s, err := Connect(ctx, dir, "long", &Config{SupportedProfiles: protocol.ProfileBaseline, AuthToken: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, 0, 1, 11)
		if err := s.Send(ctx, &h, payload, deadline); err != nil {
			t.Fatal(err)
		}
		var m Message
		if err := s.Receive(ctx, &m, deadline); err != nil || m.Header.MessageID != 11 ||
			!bytes.Equal(m.Payload, payload) {
			t.Fatalf("answer: %v %+v", err, m.Header)
		}
		if err := <-done; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
}
