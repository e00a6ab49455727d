// Package cache is netipc Level 3: a local cache of the cgroups snapshot.
//
// Refresh fetches a snapshot through a Level 2 client and keeps an owned,
// immutable copy with an O(1) index by (hash, name). A failed refresh keeps
// the previous snapshot: lookups keep working while the provider restarts
// or is gone. Lookups do no I/O, take no lock and allocate nothing: they
// read the current snapshot through an atomic pointer, so any number of
// goroutines may look up while a refresh builds the next copy.
//
// What differs from the C cache: C hands out borrowed views under read
// guards; here a snapshot is immutable and garbage collected, so items (Go
// strings) may be kept as long as the caller likes and no guard exists.
package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netdata/netipc/go/service"
)

// Item is one cgroup of a snapshot; an owned copy.
type Item struct {
	Hash    uint32
	Options uint32
	Enabled uint32
	Name    string
	Path    string
}

// Snapshot is an immutable copy of one snapshot response with its index.
type Snapshot struct {
	Generation     uint64
	SystemdEnabled uint32
	items          []Item
	// (item hash << 32) | (item index + 1), 0 = empty: the hash beside the
	// index lets a probe skip items without touching them.
	buckets []uint64
	mask    uint32
}

// Len is the number of items.
func (s *Snapshot) Len() int { return len(s.items) }

// Item returns item i in snapshot order.
func (s *Snapshot) Item(i int) Item { return s.items[i] }

// mix32 is murmur3's 32-bit finaliser: it spreads the producer's hash.
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func (s *Snapshot) index() {
	n := uint32(16)
	for n < 2*uint32(len(s.items)) {
		n <<= 1
	}
	s.buckets = make([]uint64, n)
	s.mask = n - 1
	for i, it := range s.items {
		b := mix32(it.Hash) & s.mask
		for s.buckets[b] != 0 {
			b = (b + 1) & s.mask
		}
		s.buckets[b] = uint64(it.Hash)<<32 | uint64(i+1)
	}
}

// Lookup returns the item with this hash and byte-equal name.
func (s *Snapshot) Lookup(hash uint32, name string) (Item, bool) {
	for b := mix32(hash) & s.mask; ; b = (b + 1) & s.mask {
		slot := s.buckets[b]
		if slot == 0 {
			return Item{}, false
		}
		if uint32(slot>>32) == hash {
			if it := &s.items[uint32(slot)-1]; it.Name == name {
				return *it, true
			}
		}
	}
}

// LookupBytes is Lookup for a name held in a byte slice (no allocation).
func (s *Snapshot) LookupBytes(hash uint32, name []byte) (Item, bool) {
	for b := mix32(hash) & s.mask; ; b = (b + 1) & s.mask {
		slot := s.buckets[b]
		if slot == 0 {
			return Item{}, false
		}
		if uint32(slot>>32) == hash {
			if it := &s.items[uint32(slot)-1]; it.Name == string(name) {
				return *it, true
			}
		}
	}
}

// Status is a cache's state and counters.
type Status struct {
	Populated      bool // a snapshot exists (possibly empty)
	ItemCount      int
	SystemdEnabled uint32
	Generation     uint64
	RefreshSuccess uint64
	RefreshFailure uint64
	LastRefresh    time.Time // of the last success; zero = never
	LastError      error     // of the last failed refresh
	ClientState    service.State
}

// CgroupsCache is a Level 3 cache of the cgroups snapshot.
type CgroupsCache struct {
	writer  sync.Mutex // serialises Refresh, Status's client read and Close
	client  *service.Client
	current atomic.Pointer[Snapshot]

	successes, failures uint64
	lastRefresh         int64 // unix nanoseconds
	lastErr             error // under writer
}

// New creates the cache and its client (not connected; nothing fetched).
func New(runDir, svc string, cfg *service.ClientConfig) (*CgroupsCache, error) {
	c, err := service.NewClient(runDir, svc, cfg)
	if err != nil {
		return nil, err
	}
	return &CgroupsCache{client: c}, nil
}

// Refresh connects if needed and fetches a snapshot. On success the new
// snapshot replaces the old one; on failure the old one is kept and the
// error is returned (ErrNotFound / ErrNotReady when no provider is
// reachable, or any error of the snapshot call or of an item's decoding).
// Safe from any goroutine; calls are serialised.
func (c *CgroupsCache) Refresh(ctx context.Context) error {
	c.writer.Lock()
	defer c.writer.Unlock()
	err := c.refresh(ctx)
	if err != nil {
		atomic.AddUint64(&c.failures, 1)
		c.lastErr = err
		return err
	}
	atomic.AddUint64(&c.successes, 1)
	atomic.StoreInt64(&c.lastRefresh, time.Now().UnixNano())
	return nil
}

func (c *CgroupsCache) refresh(ctx context.Context) error {
	if !c.client.Ready() {
		if err := c.client.Refresh(ctx); err != nil {
			return err
		}
	}
	v, err := c.client.CgroupsSnapshot(ctx)
	if err != nil {
		return err
	}
	s := &Snapshot{Generation: v.Generation, SystemdEnabled: v.SystemdEnabled,
		items: make([]Item, v.ItemCount)}
	for i := range s.items {
		it, err := v.Item(uint32(i))
		if err != nil {
			return err
		}
		s.items[i] = Item{Hash: it.Hash, Options: it.Options, Enabled: it.Enabled,
			Name: string(it.Name), Path: string(it.Path)}
	}
	s.index()
	c.current.Store(s)
	return nil
}

// Ready reports whether a snapshot exists ("has data", not "connected").
func (c *CgroupsCache) Ready() bool { return c.current.Load() != nil }

// Snapshot returns the current snapshot, or nil before the first success.
// It stays valid (and unchanged) however many refreshes follow.
func (c *CgroupsCache) Snapshot() *Snapshot { return c.current.Load() }

// Lookup finds (hash, name) in the current snapshot: no I/O, no lock, no
// allocation. false when absent or when no snapshot exists yet.
func (c *CgroupsCache) Lookup(hash uint32, name string) (Item, bool) {
	s := c.current.Load()
	if s == nil {
		return Item{}, false
	}
	return s.Lookup(hash, name)
}

// Status returns the state and counters.
func (c *CgroupsCache) Status() Status {
	c.writer.Lock()
	defer c.writer.Unlock()
	st := Status{RefreshSuccess: atomic.LoadUint64(&c.successes), RefreshFailure: atomic.LoadUint64(&c.failures),
		LastError: c.lastErr, ClientState: c.client.State()}
	if ns := atomic.LoadInt64(&c.lastRefresh); ns != 0 {
		st.LastRefresh = time.Unix(0, ns)
	}
	if s := c.current.Load(); s != nil {
		st.Populated, st.ItemCount, st.SystemdEnabled, st.Generation = true, len(s.items), s.SystemdEnabled, s.Generation
	}
	return st
}

// Close closes the client and drops the snapshot.
func (c *CgroupsCache) Close() error {
	c.writer.Lock()
	defer c.writer.Unlock()
	c.current.Store(nil)
	return c.client.Close()
}
