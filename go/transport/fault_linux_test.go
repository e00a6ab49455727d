package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// A hostile peer shrinks the SHM region file behind both mappings. The
// next access to the lost pages raises SIGBUS; the fault guard must turn it
// into an error for that session only: the process survives and other
// sessions keep working.
func TestHostileTruncatedRegion(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{SupportedProfiles: protocol.ProfileBaseline | protocol.ProfileSHMHybrid,
		MaxRequestPayload: 65536, MaxResponsePayload: 65536}
	l, err := Listen(dir, "svc", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan error, 2)
	for sid := uint64(1); sid <= 2; sid++ {
		go func(sid uint64) {
			p, err := l.Accept(context.Background())
			if err != nil {
				served <- err
				return
			}
			s, err := p.Handshake(context.Background(), cfg, sid)
			if err != nil {
				served <- err
				return
			}
			defer s.Close()
			var m Message
			for {
				if err := s.Receive(context.Background(), &m, time.Now().Add(10*time.Second)); err != nil {
					served <- err
					return
				}
				h := protocol.MakeHeader(protocol.KindResponse, m.Header.Code, 0, 0, 0, 1, m.Header.MessageID)
				if err := s.Send(context.Background(), &h, m.Payload, time.Now().Add(time.Second)); err != nil {
					served <- err
					return
				}
			}
		}(sid)
		// Accept in order so the session ids are known.
		c, err := Connect(context.Background(), dir, "svc", cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Info().SessionID != sid || c.Info().SelectedProfile != protocol.ProfileSHMHybrid {
			t.Fatalf("session %d: %+v", sid, c.Info())
		}
		if sid == 1 {
			victim = c
		} else {
			other = c
		}
	}
	call := func(c *Session, id uint64) error {
		h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, 0, 1, id)
		if err := c.Send(context.Background(), &h, []byte("12345678"), time.Now().Add(5*time.Second)); err != nil {
			return err
		}
		var m Message
		return c.Receive(context.Background(), &m, time.Now().Add(5*time.Second))
	}
	if err := call(victim, 1); err != nil {
		t.Fatal(err)
	}
	region := filepath.Join(dir, fmt.Sprintf("svc-%016x.ipcshm", 1))
	if err := os.Truncate(region, 0); err != nil {
		t.Fatal(err)
	}
	// The victim client faults on its next publish; the server's session,
	// spinning or sleeping on the same region, faults too.
	err = call(victim, 2)
	if !errors.Is(err, netipc.ErrDisconnected) {
		t.Fatalf("victim client: %v", err)
	}
	select {
	case err := <-served:
		if !errors.Is(err, netipc.ErrDisconnected) {
			t.Fatalf("victim's server session: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the victim's server session did not end")
	}
	if err := call(other, 1); err != nil {
		t.Fatalf("the other session: %v", err)
	}
}

var victim, other *Session
