package transport

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

func TestWindowsNames(t *testing.T) {
	if h := FNV1a64(""); h != 0xcbf29ce484222325 {
		t.Fatalf("%x", h)
	}
	if h := FNV1a64("/run/netdata"); h != 0xefc07ed598ac339b {
		t.Fatalf("%x", h)
	}
	n, err := PipeName("/run/netdata", "cgroups-snapshot")
	if err != nil || n != `\\.\pipe\netipc-efc07ed598ac339b-cgroups-snapshot` {
		t.Fatalf("%q %v", n, err)
	}
	n, err = SHMObjectName("/run/netdata", "cgroups-snapshot", 0xDEADBEEFCAFEBABE, 2, 1, "mapping")
	if err != nil || n != `Local\netipc-dc862a8018111f88-cgroups-snapshot-p2-s0000000000000001-mapping` {
		t.Fatalf("%q %v", n, err)
	}
	if _, err := PipeName("/run/netdata", ".."); !errors.Is(err, netipc.ErrBadServiceName) {
		t.Fatal(err)
	}
}

func TestWindowsEcho(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile uint32
		size    int
	}{
		{"pipe", protocol.ProfileBaseline, 100},
		{"pipe chunked", protocol.ProfileBaseline, 300000},
		{"shm hybrid", protocol.ProfileSHMHybrid, 100000},
		{"shm busywait", protocol.ProfileSHMBusywait, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := &Config{SupportedProfiles: protocol.ProfileBaseline | tc.profile, MaxRequestPayload: 1 << 20,
				MaxResponsePayload: 1 << 20, AuthToken: 3}
			l, err := Listen(dir, "echo", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, err := Listen(dir, "echo", cfg); err == nil {
				// FILE_FLAG_FIRST_PIPE_INSTANCE is ignored by wine (a second
				// server succeeds there): only logged.
				t.Log("a second listener on the same name was accepted (wine?)")
			}
			done := make(chan error, 1)
			go func() {
				p, err := l.Accept(context.Background())
				if err != nil {
					done <- err
					return
				}
				s, err := p.Handshake(context.Background(), cfg, 1)
				done <- err
				if err != nil {
					return
				}
				defer s.Close()
				var m Message
				for s.Receive(context.Background(), &m, time.Time{}) == nil {
					h := protocol.MakeHeader(protocol.KindResponse, m.Header.Code, 0, 0, 0, 1, m.Header.MessageID)
					if s.Send(context.Background(), &h, m.Payload, time.Time{}) != nil {
						return
					}
				}
			}()
			c, err := Connect(context.Background(), dir, "echo", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if c.Info().SelectedProfile != tc.profile {
				t.Fatalf("selected %#x", c.Info().SelectedProfile)
			}
			payload := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			var m Message
			for id := uint64(1); id <= 3; id++ {
				h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, 0, 1, id)
				if err := c.Send(context.Background(), &h, payload, time.Now().Add(20*time.Second)); err != nil {
					t.Fatal(err)
				}
				if err := c.Receive(context.Background(), &m, time.Now().Add(20*time.Second)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m.Payload, payload) {
					t.Fatal("echo differs")
				}
			}
			// Cancelling a wait leaves the session usable.
			ctx, cancel := context.WithCancel(context.Background())
			go func() { time.Sleep(30 * time.Millisecond); cancel() }()
			if err := c.Receive(ctx, &m, time.Time{}); !errors.Is(err, netipc.ErrAborted) {
				t.Fatalf("cancel: %v", err)
			}
		})
	}
}

func TestWindowsRejections(t *testing.T) {
	dir := t.TempDir()
	scfg := &Config{AuthToken: 2}
	l, err := Listen(dir, "svc", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			p, err := l.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				if s, err := p.Handshake(context.Background(), scfg, 1); err == nil {
					s.Close()
				}
			}()
		}
	}()
	if _, err := Connect(context.Background(), dir, "svc", &Config{AuthToken: 1}); !errors.Is(err, netipc.ErrAuthFailed) {
		t.Fatalf("auth: %v", err)
	}
	if _, err := Connect(context.Background(), dir, "nobody", nil); !errors.Is(err, netipc.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
}
