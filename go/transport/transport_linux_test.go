package transport

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/protocol"
)

// serveEcho accepts one session and echoes requests as responses until the
// session ends; it reports the handshake error on done.
func serveEcho(t *testing.T, l *Listener, cfg *Config, done chan<- error) {
	ctx := context.Background()
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
	done <- nil
	var m Message
	for {
		if err := s.Receive(ctx, &m, time.Time{}); err != nil {
			return
		}
		h := protocol.MakeHeader(protocol.KindResponse, m.Header.Code, m.Header.Flags, 0, 0, m.Header.ItemCount, m.Header.MessageID)
		if err := s.Send(ctx, &h, m.Payload, time.Time{}); err != nil {
			return
		}
	}
}

func TestEchoProfiles(t *testing.T) {
	cases := []struct {
		name    string
		profile uint32
		packet  uint32
		size    int
	}{
		{"uds small", protocol.ProfileBaseline, 0, 100},
		{"uds chunked", protocol.ProfileBaseline, 4096, 100000},
		{"uds exact packet", protocol.ProfileBaseline, 4096, 4096 - 32},
		{"shm small", protocol.ProfileSHMHybrid, 0, 100},
		{"shm large", protocol.ProfileSHMHybrid, 0, 200000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			scfg := &Config{SupportedProfiles: protocol.ProfileBaseline | protocol.ProfileSHMHybrid,
				MaxRequestPayload: 1 << 20, MaxResponsePayload: 1 << 20, AuthToken: 7, PacketSize: tc.packet}
			l, err := Listen(dir, "echo", scfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			st, _ := os.Stat(l.Path())
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("socket mode %v", st.Mode())
			}
			done := make(chan error, 1)
			go serveEcho(t, l, scfg, done)
			ccfg := &Config{SupportedProfiles: protocol.ProfileBaseline | tc.profile, PreferredProfiles: tc.profile,
				MaxRequestPayload: 1 << 20, MaxResponsePayload: 1 << 20, AuthToken: 7, PacketSize: tc.packet}
			s, err := Connect(context.Background(), dir, "echo", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if s.Info().SelectedProfile != tc.profile {
				t.Fatalf("selected %#x", s.Info().SelectedProfile)
			}
			payload := make([]byte, tc.size)
			for i := range payload {
				payload[i] = byte(i * 7)
			}
			var m Message
			for id := uint64(1); id <= 3; id++ {
				h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, 0, 1, id)
				if err := s.Send(context.Background(), &h, payload, time.Now().Add(10*time.Second)); err != nil {
					t.Fatal(err)
				}
				if err := s.Receive(context.Background(), &m, time.Now().Add(10*time.Second)); err != nil {
					t.Fatal(err)
				}
				if m.Header.MessageID != id || !bytes.Equal(m.Payload, payload) {
					t.Fatalf("echo %d: %d bytes", id, len(m.Payload))
				}
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Connect(context.Background(), dir, "nobody", nil); !errors.Is(err, netipc.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	if _, err := Connect(context.Background(), dir, "../x", nil); !errors.Is(err, netipc.ErrBadServiceName) {
		t.Fatalf("got %v", err)
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if _, err := Connect(context.Background(), open, "x", nil); !errors.Is(err, netipc.ErrInsecureDir) {
		t.Fatalf("client in a world-writable dir: %v", err)
	}
	if _, err := Listen(open, "x", nil); !errors.Is(err, netipc.ErrInsecureDir) {
		t.Fatalf("server in a world-writable dir: %v", err)
	}
	group := filepath.Join(dir, "group")
	os.Mkdir(group, 0o770)
	os.Chmod(group, 0o770)
	if _, err := Listen(group, "x", nil); !errors.Is(err, netipc.ErrInsecureDir) {
		t.Fatalf("server in a group-writable dir: %v", err)
	}
	// A live server keeps its endpoint; a stale file is reclaimed.
	l, err := Listen(dir, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(dir, "svc", nil); !errors.Is(err, netipc.ErrAddressInUse) {
		t.Fatalf("second server: %v", err)
	}
	l.Close()
	os.WriteFile(filepath.Join(dir, "svc.sock"), []byte("junk"), 0o600)
	l, err = Listen(dir, "svc", nil)
	if err != nil {
		t.Fatalf("stale file not reclaimed: %v", err)
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, "svc.sock")); !os.IsNotExist(err) {
		t.Fatal("socket left behind")
	}
}

func TestPeerUIDPolicy(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		p, err := l.Accept(context.Background())
		if err == nil {
			p.Close()
		}
	}()
	// Expecting the server to run as a uid it does not run as.
	other := uint32(os.Geteuid()) + 12345
	_, err = Connect(context.Background(), dir, "svc", &Config{ServerUIDs: []uint32{other}})
	if !errors.Is(err, netipc.ErrPeerRejected) {
		t.Fatalf("got %v", err)
	}
}

func TestHandshakeRejections(t *testing.T) {
	cases := []struct {
		name string
		ccfg Config
		want netipc.Code
	}{
		{"auth", Config{AuthToken: 1}, netipc.ErrAuthFailed},
		{"profile", Config{SupportedProfiles: protocol.ProfileSHMHybrid}, netipc.ErrUnsupported},
		{"limit", Config{AuthToken: 2, MaxRequestPayload: 4096}, netipc.ErrLimitExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			scfg := &Config{AuthToken: 2}
			l, err := Listen(dir, "svc", scfg)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			done := make(chan error, 1)
			go serveEcho(t, l, scfg, done)
			_, err = Connect(context.Background(), dir, "svc", &tc.ccfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("client: %v", err)
			}
			if err := <-done; !errors.Is(err, tc.want) {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

func TestReceiveTimeoutAndCancel(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sess := make(chan *Session, 1)
	go func() {
		p, _ := l.Accept(context.Background())
		s, _ := p.Handshake(context.Background(), nil, 1)
		sess <- s
	}()
	c, err := Connect(context.Background(), dir, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := <-sess
	defer srv.Close()
	var m Message
	if err := srv.Receive(context.Background(), &m, time.Now().Add(20*time.Millisecond)); !errors.Is(err, netipc.ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := srv.Receive(ctx, &m, time.Time{}); !errors.Is(err, netipc.ErrAborted) {
		t.Fatalf("cancel: %v", err)
	}
	// Neither broke the session.
	h := protocol.MakeHeader(protocol.KindRequest, 1, 0, 0, 0, 1, 1)
	if err := c.Send(context.Background(), &h, []byte("12345678"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Receive(context.Background(), &m, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := srv.Receive(context.Background(), &m, time.Now().Add(5*time.Second)); !errors.Is(err, netipc.ErrDisconnected) {
		t.Fatalf("peer gone: %v", err)
	}
}

func TestCleanupStaleSHM(t *testing.T) {
	dir := t.TempDir()
	// A region of a dead owner, junk, and another service's file.
	r, err := shmCreate(dir, "svc", 1, protocol.ProfileSHMHybrid, 0, 1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	lr := r.(*linuxRegion)
	put32(lr.mem[offOwnerPID:], 0x7ffffff0) // no such pid
	lr.server = false                       // keep the file on close
	r.close()
	os.WriteFile(filepath.Join(dir, "svc-0000000000000002.ipcshm"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(dir, "svc-x-0000000000000003.ipcshm"), []byte("other"), 0o600)
	live, err := shmCreate(dir, "svc", 4, protocol.ProfileSHMHybrid, 0, 1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer live.close()
	n, err := CleanupStaleSHM(dir, "svc")
	if err != nil || n != 2 {
		t.Fatalf("removed %d: %v", n, err)
	}
	for _, name := range []string{"svc-x-0000000000000003.ipcshm", "svc-0000000000000004.ipcshm"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s removed", name)
		}
	}
	var st syscall.Stat_t
	if syscall.Stat(filepath.Join(dir, "svc-0000000000000001.ipcshm"), &st) == nil {
		t.Fatal("stale region kept")
	}
}
