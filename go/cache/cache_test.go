package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/service"
)

var bg = context.Background()

type provider struct {
	mu    sync.Mutex
	items int
	gen   uint64
}

func (p *provider) handler(buf []byte) (int, error) {
	p.mu.Lock()
	n, gen := p.items, p.gen
	p.mu.Unlock()
	b := codec.NewCgroupsBuilder(buf, uint32(n), 1, gen)
	for i := 0; i < n; i++ {
		name := []byte(fmt.Sprintf("cg-%d", i))
		// Every tenth item shares its hash with the one before: lookups
		// must compare names too.
		h := codec.Djb2(name)
		if i%10 == 1 {
			h = codec.Djb2([]byte(fmt.Sprintf("cg-%d", i-1)))
		}
		b.Add(h, uint32(i), 1, name, []byte("/sys/fs/cgroup/"+string(name)))
	}
	return b.Finish()
}

func hashOf(i int) uint32 {
	if i%10 == 1 {
		i--
	}
	return codec.Djb2([]byte(fmt.Sprintf("cg-%d", i)))
}

func startProvider(t *testing.T, dir string, p *provider, profiles uint32) *service.Server {
	s, err := service.NewCgroupsSnapshotServer(dir, "cgroups-snapshot",
		&service.ServerConfig{SupportedProfiles: profiles, MaxResponsePayload: 1 << 20}, p.handler)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

func TestCacheLifecycle(t *testing.T) {
	for _, profiles := range []uint32{protocol.ProfileBaseline, protocol.ProfileBaseline | protocol.ProfileSHMHybrid} {
		t.Run(fmt.Sprintf("profiles_%d", profiles), func(t *testing.T) {
			dir := t.TempDir()
			c, err := New(dir, "cgroups-snapshot", &service.ClientConfig{SupportedProfiles: profiles})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Refresh(bg); !errors.Is(err, netipc.ErrNotFound) || c.Ready() {
				t.Fatalf("no provider: %v", err)
			}
			if _, ok := c.Lookup(1, "x"); ok {
				t.Fatal("lookup without a snapshot")
			}
			p := &provider{items: 1000, gen: 1}
			s := startProvider(t, dir, p, profiles)
			if err := c.Refresh(bg); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 1000; i++ {
				name := fmt.Sprintf("cg-%d", i)
				it, ok := c.Lookup(hashOf(i), name)
				if !ok || it.Name != name || it.Options != uint32(i) || it.Path != "/sys/fs/cgroup/"+name {
					t.Fatalf("item %d: %v %+v", i, ok, it)
				}
			}
			if _, ok := c.Lookup(hashOf(5), "cg-6"); ok {
				t.Fatal("found a name under another hash")
			}
			snap := c.Snapshot()
			// The provider goes away: refresh fails, the data stays.
			s.Close()
			if err := c.Refresh(bg); err == nil {
				t.Fatal("refresh without a provider succeeded")
			}
			st := c.Status()
			if !st.Populated || st.ItemCount != 1000 || st.RefreshFailure != 2 || st.RefreshSuccess != 1 || st.Generation != 1 {
				t.Fatalf("%+v", st)
			}
			if _, ok := c.Lookup(hashOf(7), "cg-7"); !ok {
				t.Fatal("old data lost after a failed refresh")
			}
			// A new provider with other data.
			p.mu.Lock()
			p.items, p.gen = 10, 2
			p.mu.Unlock()
			s = startProvider(t, dir, p, profiles)
			defer s.Close()
			if err := c.Refresh(bg); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.Lookup(hashOf(500), "cg-500"); ok || c.Status().Generation != 2 {
				t.Fatal("stale item after a refresh")
			}
			// A snapshot taken earlier is unchanged.
			if snap.Len() != 1000 || snap.Generation != 1 {
				t.Fatal("old snapshot changed")
			}
		})
	}
}

// Lookups run concurrently with refreshes (go test -race checks them).
func TestCacheConcurrentLookups(t *testing.T) {
	dir := t.TempDir()
	p := &provider{items: 200, gen: 1}
	s := startProvider(t, dir, p, protocol.ProfileBaseline)
	defer s.Close()
	c, _ := New(dir, "cgroups-snapshot", nil)
	defer c.Close()
	if err := c.Refresh(bg); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 200; i += 7 {
					if _, ok := c.Lookup(hashOf(i), fmt.Sprintf("cg-%d", i)); !ok {
						t.Errorf("item %d missing", i)
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if err := c.Refresh(bg); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestLookupAllocatesNothing(t *testing.T) {
	dir := t.TempDir()
	p := &provider{items: 100, gen: 1}
	s := startProvider(t, dir, p, protocol.ProfileBaseline)
	defer s.Close()
	c, _ := New(dir, "cgroups-snapshot", nil)
	defer c.Close()
	if err := c.Refresh(bg); err != nil {
		t.Fatal(err)
	}
	h, h43, name, nb := hashOf(42), hashOf(43), "cg-42", []byte("cg-43")
	n := testing.AllocsPerRun(1000, func() {
		c.Lookup(h, name)
		c.Snapshot().LookupBytes(h43, nb)
	})
	if n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
	_ = time.Second
}
