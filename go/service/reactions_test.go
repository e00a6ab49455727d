package service

import (
	"errors"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/transport"
)

// The managed server's reaction to every kind of malformed request
// (services.md §6), seen by a raw Level 1 client.
func TestServerReactions(t *testing.T) {
	dir := t.TempDir()
	start(t)(NewIncrementServer(dir, "inc", &ServerConfig{MaxRequestBatch: 4},
		func(v uint64) (uint64, error) {
			if v == 99 {
				return 0, netipc.ErrBufferTooSmall
			}
			return v + 1, nil
		}))
	start(t)(NewCgroupsSnapshotServer(dir, "snap", nil, snapshotOf(1)))
	cases := []struct {
		name     string
		svc      string
		code     uint16
		flags    uint16
		items    uint32
		payload  []byte
		status   uint16
		survives bool
	}{
		{"ok", "inc", protocol.MethodIncrement, 0, 1, le64(1), protocol.StatusOK, true},
		{"wrong method", "inc", protocol.MethodStringReverse, 0, 1, le64(1), protocol.StatusUnsupported, true},
		{"truncated payload", "inc", protocol.MethodIncrement, 0, 1, []byte{1, 2, 3}, protocol.StatusBadEnvelope, false},
		{"handler overflow", "inc", protocol.MethodIncrement, 0, 1, le64(99), protocol.StatusLimitExceeded, false},
		{"batch on a snapshot", "snap", protocol.MethodCgroupsSnapshot, protocol.FlagBatch, 1,
			[]byte{0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, protocol.StatusBadEnvelope, false},
		{"bad snapshot request", "snap", protocol.MethodCgroupsSnapshot, 0, 1, []byte{2, 0, 0, 0}, protocol.StatusBadEnvelope, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := transport.Connect(bg, dir, tc.svc, &transport.Config{MaxRequestBatch: 8, MaxResponseBatch: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			deadline := time.Now().Add(10 * time.Second)
			h := protocol.MakeHeader(protocol.KindRequest, tc.code, tc.flags, 0, 0, tc.items, 7)
			if err := s.Send(bg, &h, tc.payload, deadline); err != nil {
				t.Fatal(err)
			}
			var m transport.Message
			if err := s.Receive(bg, &m, deadline); err != nil {
				t.Fatal(err)
			}
			if m.Header.TransportStatus != tc.status || m.Header.MessageID != 7 || m.Header.Code != tc.code ||
				(tc.status != protocol.StatusOK && (len(m.Payload) != 0 || m.Header.ItemCount != 1 || m.Header.Flags != 0)) {
				t.Fatalf("answer %+v, %d bytes", m.Header, len(m.Payload))
			}
			h = protocol.MakeHeader(protocol.KindRequest, protocol.MethodIncrement, 0, 0, 0, 1, 8)
			err = s.Send(bg, &h, le64(5), deadline)
			if err == nil {
				err = s.Receive(bg, &m, deadline)
			}
			if tc.survives && err != nil {
				t.Fatalf("the session should survive: %v", err)
			}
			if !tc.survives && !errors.Is(err, netipc.ErrDisconnected) {
				t.Fatalf("the server should have closed the session: %v", err)
			}
		})
	}
	// Above the server's own batch limit (the handshake echoed the client's).
	s, err := transport.Connect(bg, dir, "inc", &transport.Config{MaxRequestBatch: 8, MaxResponseBatch: 8,
		MaxRequestPayload: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := make([]byte, 5*16)
	b := protocol.NewBatchBuilder(payload, 5)
	for i := 0; i < 5; i++ {
		b.Add(le64(uint64(i)))
	}
	n, _ := b.Finish()
	h := protocol.MakeHeader(protocol.KindRequest, protocol.MethodIncrement, protocol.FlagBatch, 0, 0, 5, 1)
	var m transport.Message
	if err := s.Send(bg, &h, payload[:n], time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(bg, &m, time.Now().Add(5*time.Second)); err != nil || m.Header.TransportStatus != protocol.StatusLimitExceeded {
		t.Fatalf("batch above the server's limit: %v %+v", err, m.Header)
	}
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
