package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
)

const token = 0x5EC7E7

var bg = context.Background()

func reverse(in, out []byte) (int, error) {
	if len(in) > len(out) {
		return 0, netipc.ErrBufferTooSmall
	}
	for i, c := range in {
		out[len(in)-1-i] = c
	}
	return len(in), nil
}

func snapshotOf(n int) CgroupsSnapshotHandler {
	return func(buf []byte) (int, error) {
		b := codec.NewCgroupsBuilder(buf, uint32(n), 1, 77)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("cg-%d", i)
			b.Add(codec.Djb2([]byte(name)), uint32(i), 1, []byte(name), []byte("/sys/fs/cgroup/"+name))
		}
		return b.Finish()
	}
}

var labelKey = []byte("k")

func cgLookup(req *codec.CgroupsLookupRequest, b *codec.CgroupsLookupBuilder) error {
	b.SetGeneration(5)
	var labels [1]codec.Label
	var it codec.CgroupsLookupItem
	for i := uint32(0); i < req.ItemCount; i++ {
		key := req.Key(i)
		it = codec.CgroupsLookupItem{Status: codec.CgroupKnown, Orchestrator: codec.OrchDocker, Path: key,
			Name: key[bytes.LastIndexByte(key, '/')+1:], Labels: codec.Labels{Count: 1}}
		labels[0] = codec.Label{Key: labelKey, Value: key}
		b.Add(&it, labels[:])
	}
	return nil
}

func appsLookup(req *codec.AppsLookupRequest, b *codec.AppsLookupBuilder) error {
	b.SetGeneration(6)
	for i := uint32(0); i < req.ItemCount; i++ {
		pid := req.PID(i)
		it := codec.AppsLookupItem{Status: codec.AppKnown, PID: pid, PPID: 1, UID: 0, Starttime: 9,
			Comm: []byte(fmt.Sprintf("p%d", pid)), CgroupPath: []byte("/a/b"), CgroupName: []byte("b")}
		b.Add(&it, nil)
	}
	return nil
}

func serverCfg(profiles uint32) *ServerConfig {
	return &ServerConfig{SupportedProfiles: profiles, MaxRequestPayload: 1 << 20, MaxRequestBatch: 1000,
		MaxResponsePayload: 1 << 20, AuthToken: token}
}

// start(t)(NewXServer(...)) starts a server and closes it at the end.
func start(t testing.TB) func(s *Server, err error) *Server {
	return func(s *Server, err error) *Server {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func client(t testing.TB, dir, svc string, cfg *ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(dir, svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(bg); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var profiles = []struct {
	name string
	bits uint32
}{{"uds", protocol.ProfileBaseline}, {"shm", protocol.ProfileBaseline | protocol.ProfileSHMHybrid}}

func TestEveryKind(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			start(t)(NewIncrementServer(dir, "inc", serverCfg(p.bits), func(v uint64) (uint64, error) { return v + 1, nil }))
			start(t)(NewStringReverseServer(dir, "rev", serverCfg(p.bits), reverse))
			start(t)(NewCgroupsSnapshotServer(dir, "snap", serverCfg(p.bits), snapshotOf(100)))
			start(t)(NewCgroupsLookupServer(dir, "cgl", serverCfg(p.bits), cgLookup))
			start(t)(NewAppsLookupServer(dir, "apl", serverCfg(p.bits), appsLookup))
			ccfg := &ClientConfig{SupportedProfiles: p.bits, AuthToken: token, MaxRequestBatch: 1000}

			c := client(t, dir, "inc", ccfg)
			if c.Status().SelectedProfile != protocol.ProfileHighest(p.bits) {
				t.Fatalf("profile %#x", c.Status().SelectedProfile)
			}
			if v, err := c.Increment(bg, 41); err != nil || v != 42 {
				t.Fatalf("increment %d %v", v, err)
			}
			vals := make([]uint64, 1000)
			out := make([]uint64, 1000)
			for i := range vals {
				vals[i] = uint64(i) * 3
			}
			if err := c.IncrementBatch(bg, vals, out); err != nil {
				t.Fatal(err)
			}
			for i := range vals {
				if out[i] != vals[i]+1 {
					t.Fatalf("batch item %d", i)
				}
			}

			r := client(t, dir, "rev", ccfg)
			for _, size := range []int{0, 3, 5000, 300000} { // 300000: chunked on UDS, growth from 1024
				in := bytes.Repeat([]byte("abcdefg"), size/7+1)[:size]
				got, err := r.StringReverse(bg, in)
				if err != nil {
					t.Fatalf("reverse %d: %v", size, err)
				}
				for i := range in {
					if got[len(in)-1-i] != in[i] {
						t.Fatalf("reverse %d: wrong byte %d", size, i)
					}
				}
			}

			s := client(t, dir, "snap", ccfg)
			v, err := s.CgroupsSnapshot(bg)
			if err != nil || v.ItemCount != 100 || v.Generation != 77 {
				t.Fatalf("snapshot %v %+v", err, v)
			}
			it, _ := v.Item(42)
			if string(it.Name) != "cg-42" || string(it.Path) != "/sys/fs/cgroup/cg-42" {
				t.Fatalf("item %+v", it)
			}

			l := client(t, dir, "cgl", ccfg)
			paths := [][]byte{[]byte("/a/x"), []byte("/b/yy")}
			lv, err := l.CgroupsLookup(bg, paths)
			if err != nil || lv.ItemCount != 2 || lv.Generation != 5 {
				t.Fatalf("cgroups lookup %v %+v", err, lv)
			}
			li, _ := lv.Item(1)
			lab, _ := li.Labels.At(0)
			if string(li.Name) != "yy" || string(lab.Value) != "/b/yy" {
				t.Fatalf("lookup item %+v", li)
			}

			a := client(t, dir, "apl", ccfg)
			av, err := a.AppsLookup(bg, []uint32{7, 8, 9})
			if err != nil || av.ItemCount != 3 || av.Generation != 6 {
				t.Fatalf("apps lookup %v", err)
			}
			ai, _ := av.Item(2)
			if ai.PID != 9 || string(ai.Comm) != "p9" {
				t.Fatalf("apps item %+v", ai)
			}
			// A probe: no keys.
			if av, err := a.AppsLookup(bg, nil); err != nil || av.ItemCount != 0 || av.Generation != 6 {
				t.Fatalf("probe %v %+v", err, av)
			}
		})
	}
}

func TestLookupSplitAndStitch(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			// Small limits: 1000 keys need many sub-calls (request size) and
			// PAYLOAD_EXCEEDED tails (response size).
			scfg := &ServerConfig{SupportedProfiles: p.bits, MaxRequestPayload: 512, MaxResponsePayload: 1024, AuthToken: token}
			start(t)(NewCgroupsLookupServer(dir, "cgl", scfg, cgLookup))
			acfg := *scfg
			acfg.MaxResponsePayload = 2400 // minimal answers for 31 keys fit, full ones do not
			start(t)(NewAppsLookupServer(dir, "apl", &acfg, appsLookup))
			ccfg := &ClientConfig{SupportedProfiles: p.bits, AuthToken: token, MaxRequestPayload: 512}
			l := client(t, dir, "cgl", ccfg)
			paths := make([][]byte, 1000)
			for i := range paths {
				paths[i] = []byte(fmt.Sprintf("/system.slice/unit-%d.service", i))
			}
			paths[500] = []byte("/" + strings.Repeat("x", 600)) // too long to send: OVERSIZED_ITEM locally
			v, err := l.CgroupsLookup(bg, paths)
			if err != nil {
				t.Fatal(err)
			}
			if v.ItemCount != 1000 || v.Generation != 5 {
				t.Fatalf("%+v", v)
			}
			if _, err := codec.DecodeCgroupsLookupResponse(v.Payload); err != nil {
				t.Fatalf("stitched response does not decode: %v", err)
			}
			for i := uint32(0); i < 1000; i++ {
				it, err := v.Item(i)
				if err != nil || !bytes.Equal(it.Path, paths[i]) {
					t.Fatalf("item %d: %v", i, err)
				}
				want := uint16(codec.CgroupKnown)
				if i == 500 {
					want = codec.CgroupOversizedItem
				}
				if it.Status != want {
					t.Fatalf("item %d status %d", i, it.Status)
				}
			}
			if l.Status().CallCount < 10 {
				t.Fatalf("only %d sub-calls", l.Status().CallCount)
			}
			// Keys taken from the previous view (two result buffers in turn).
			again := make([][]byte, 10)
			for i := range again {
				it, _ := v.Item(uint32(i))
				again[i] = it.Path
			}
			v2, err := l.CgroupsLookup(bg, again)
			if err != nil || v2.ItemCount != 10 {
				t.Fatal(err)
			}
			for i := range again {
				it, _ := v2.Item(uint32(i))
				if !bytes.Equal(it.Path, paths[i]) {
					t.Fatalf("item %d of the second call", i)
				}
			}

			a := client(t, dir, "apl", ccfg)
			pids := make([]uint32, 700)
			for i := range pids {
				pids[i] = uint32(1000 + i)
			}
			av, err := a.AppsLookup(bg, pids)
			if err != nil || av.ItemCount != 700 {
				t.Fatal(err)
			}
			for i := range pids {
				it, err := av.Item(uint32(i))
				if err != nil || it.PID != pids[i] || it.Status != codec.AppKnown {
					t.Fatalf("apps item %d: %v %+v", i, err, it)
				}
			}
		})
	}
}

func TestServerRestartUnderClient(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			inc := func(v uint64) (uint64, error) { return v + 1, nil }
			s := start(t)(NewIncrementServer(dir, "inc", serverCfg(p.bits), inc))
			c := client(t, dir, "inc", &ClientConfig{SupportedProfiles: p.bits, AuthToken: token})
			if _, err := c.Increment(bg, 1); err != nil {
				t.Fatal(err)
			}
			s.Close()
			start(t)(NewIncrementServer(dir, "inc", serverCfg(p.bits), inc))
			if v, err := c.Increment(bg, 2); err != nil || v != 3 {
				t.Fatalf("after restart: %d %v", v, err)
			}
			if st := c.Status(); st.ReconnectCount != 1 || st.State != Ready {
				t.Fatalf("%+v", st)
			}
		})
	}
}

func TestStatesAndErrors(t *testing.T) {
	dir := t.TempDir()
	c, _ := NewClient(dir, "inc", &ClientConfig{AuthToken: 1})
	defer c.Close()
	if err := c.Refresh(bg); !errors.Is(err, netipc.ErrNotFound) || c.State() != NotFound {
		t.Fatalf("%v %v", err, c.State())
	}
	if _, err := c.Increment(bg, 1); !errors.Is(err, netipc.ErrNotReady) {
		t.Fatal(err)
	}
	srv := start(t)(NewIncrementServer(dir, "inc", &ServerConfig{AuthToken: 2, MaxSessions: 1},
		func(v uint64) (uint64, error) { return v, errors.New("no") }))
	if err := c.Refresh(bg); !errors.Is(err, netipc.ErrAuthFailed) || c.State() != AuthFailed {
		t.Fatalf("%v %v", err, c.State())
	}
	if err := c.Refresh(bg); !errors.Is(err, netipc.ErrAuthFailed) {
		t.Fatal("AUTH_FAILED is sticky")
	}
	c.Close()
	waitIdle(t, srv) // the rejected handshake's goroutine held the only slot
	ok := client(t, dir, "inc", &ClientConfig{AuthToken: 2})
	_, err := ok.Increment(bg, 1)
	var ne *netipc.Error
	if !errors.Is(err, netipc.ErrRemoteInternal) || !errors.As(err, &ne) || ne.Status != protocol.StatusInternalError {
		t.Fatalf("handler failure: %v", err)
	}
	// The server closed the failed session; once its goroutine is gone the
	// slot is free again and the session limit (1) goes to ok.
	waitIdle(t, srv)
	if err := ok.Refresh(bg); err != nil {
		t.Fatal(err)
	}
	busy, _ := NewClient(dir, "inc", &ClientConfig{AuthToken: 2})
	defer busy.Close()
	if err := busy.Refresh(bg); !errors.Is(err, netipc.ErrBusy) {
		t.Fatalf("beyond the session limit: %v", err)
	}
}

// waitIdle waits until no session of srv is active (goroutines end a
// moment after their clients see the outcome).
func waitIdle(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().SessionsActive != 0; {
		if time.Now().After(deadline) {
			t.Fatal("sessions did not end")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestOverflowAndGrowth(t *testing.T) {
	dir := t.TempDir()
	start(t)(NewCgroupsSnapshotServer(dir, "snap", &ServerConfig{MaxResponsePayload: 4096}, snapshotOf(1000)))
	c := client(t, dir, "snap", nil)
	if _, err := c.CgroupsSnapshot(bg); !errors.Is(err, netipc.ErrOverflow) {
		t.Fatalf("a snapshot above the server's response limit: %v", err)
	}
	// A request above the server's ceiling: growth is refused.
	start(t)(NewStringReverseServer(dir, "rev", &ServerConfig{MaxRequestPayload: 2048}, reverse))
	r := client(t, dir, "rev", nil)
	if _, err := r.StringReverse(bg, make([]byte, 1500)); err != nil {
		t.Fatalf("growth to 2048: %v", err)
	}
	if _, err := r.StringReverse(bg, make([]byte, 3000)); !errors.Is(err, netipc.ErrOverflow) {
		t.Fatalf("beyond the ceiling: %v", err)
	}
	if err := r.Refresh(bg); err != nil {
		t.Fatalf("refresh after a refused growth: %v", err)
	}
	if _, err := r.StringReverse(bg, []byte("ok")); err != nil {
		t.Fatal(err)
	}
}

func TestAbortAndTimeout(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			release := make(chan struct{})
			start(t)(NewIncrementServer(dir, "slow", serverCfg(p.bits), func(v uint64) (uint64, error) {
				<-release
				return v, nil
			}))
			defer close(release)
			c := client(t, dir, "slow", &ClientConfig{SupportedProfiles: p.bits, AuthToken: token})
			ctx, cancel := context.WithCancel(bg)
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			if _, err := c.Increment(ctx, 1); !errors.Is(err, netipc.ErrAborted) {
				t.Fatalf("cancel: %v", err)
			}
			if c.State() != Broken {
				t.Fatalf("state %v", c.State())
			}
			c.Refresh(bg)
			tctx, tcancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer tcancel()
			if _, err := c.Increment(tctx, 1); !errors.Is(err, netipc.ErrTimeout) {
				t.Fatalf("timeout: %v", err)
			}
		})
	}
}

func TestNoGoroutineLeftBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, p := range profiles {
		dir := t.TempDir()
		s, err := NewIncrementServer(dir, "inc", serverCfg(p.bits), func(v uint64) (uint64, error) { return v + 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		var clients []*Client
		for i := 0; i < 5; i++ {
			c, _ := NewClient(dir, "inc", &ClientConfig{SupportedProfiles: p.bits, AuthToken: token})
			if err := c.Refresh(bg); err != nil {
				t.Fatal(err)
			}
			c.Increment(bg, 1)
			clients = append(clients, c)
		}
		// Shut down with clients still connected: sessions must end.
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		for _, c := range clients {
			c.Close()
		}
		if _, err := os.Stat(filepath.Join(dir, "inc.sock")); !os.IsNotExist(err) {
			t.Fatal("socket left behind")
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "*.ipcshm")); len(m) != 0 {
			t.Fatalf("SHM files left behind: %v", m)
		}
	}
	// Goroutines that ended may take a moment to be accounted.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestZeroAllocsPerRequest(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			start(t)(NewIncrementServer(dir, "inc", serverCfg(p.bits), func(v uint64) (uint64, error) { return v + 1, nil }))
			start(t)(NewCgroupsSnapshotServer(dir, "snap", serverCfg(p.bits), func(buf []byte) (int, error) {
				b := codec.NewCgroupsBuilder(buf, 2, 0, 1)
				b.Add(1, 0, 1, []byte("a"), []byte("/a"))
				b.Add(2, 0, 1, []byte("b"), []byte("/b"))
				return b.Finish()
			}))
			start(t)(NewCgroupsLookupServer(dir, "cgl", serverCfg(p.bits), cgLookup))
			ccfg := &ClientConfig{SupportedProfiles: p.bits, AuthToken: token, MaxRequestBatch: 16}
			c := client(t, dir, "inc", ccfg)
			s := client(t, dir, "snap", ccfg)
			l := client(t, dir, "cgl", ccfg)
			vals, out := make([]uint64, 16), make([]uint64, 16)
			keys := [][]byte{[]byte("/x/a"), []byte("/y/b")}
			ops := []struct {
				name string
				fn   func()
			}{
				{"increment", func() { c.Increment(bg, 1) }},
				{"batch", func() { c.IncrementBatch(bg, vals, out) }},
				{"snapshot", func() { s.CgroupsSnapshot(bg) }},
				{"lookup", func() { l.CgroupsLookup(bg, keys) }},
			}
			for _, op := range ops {
				op.fn() // warm up: buffers reach their size
				// Both sides run in this process: the count covers the
				// client call and the server session serving it.
				if n := testing.AllocsPerRun(200, op.fn); n != 0 {
					t.Errorf("%s: %v allocations per request", op.name, n)
				}
			}
		})
	}
}
