//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/service"
	"github.com/netdata/netipc/go/transport"
)

// The limits a row runs with, exactly those of the C rows (bench_lib.c
// budget_for), so a Go role and a C role of one row agree.
type budget struct{ req, batch, resp uint32 }

func pow2AtLeast(n uint64, floor uint32) uint32 {
	p := uint64(floor)
	for p < n {
		p <<= 1
	}
	return uint32(p)
}

func snapshotSize(n uint32) int {
	b := codec.NewCgroupsBuilder(nil, n, 1, 0)
	for _, it := range corpus(n) {
		b.Add(it.hash, it.options, it.enabled, it.name, it.path)
	}
	size, _ := b.Finish()
	return size
}

func budgetFor(sc scenario) budget {
	if sc.method == "cgroups-lookup" || sc.method == "apps-lookup" {
		return budget{lookupBudget, 1, lookupBudget}
	}
	b := budget{protocol.MaxPayloadDefault, 1, service.ResponsePayloadDefault}
	if sc.items > 1 {
		b.batch = sc.items
		b.req = pow2AtLeast(uint64(sc.items)*16, 1024)
	}
	if sc.method == "snapshot" {
		b.resp = pow2AtLeast(uint64(snapshotSize(sc.param)), 65536)
	}
	return b
}

func profiles(sc scenario) (supported, preferred uint32) {
	if sc.shm {
		return protocol.ProfileBaseline | protocol.ProfileSHMHybrid, protocol.ProfileSHMHybrid
	}
	return protocol.ProfileBaseline, 0
}

// ------------------------------------------------------------------ server

type lookupData struct {
	items  []corpusItem
	byPath map[string]int
	comm   [][]byte
}

func newLookupData() *lookupData {
	d := &lookupData{items: corpus(lookupTable), byPath: map[string]int{}}
	for i, it := range d.items {
		d.byPath[string(it.path)] = i
		d.comm = append(d.comm, []byte("worker-"+strconv.Itoa(i)))
	}
	return d
}

var (
	labelNamespace = []byte("namespace")
	labelDefault   = []byte("default")
	labelContainer = []byte("container")
)

func (d *lookupData) cgroups(req *codec.CgroupsLookupRequest, b *codec.CgroupsLookupBuilder) error {
	b.SetGeneration(snapshotGeneration)
	var it codec.CgroupsLookupItem
	var labels [2]codec.Label
	for i := uint32(0); i < req.ItemCount; i++ {
		key := req.Key(i)
		it = codec.CgroupsLookupItem{Status: codec.CgroupUnknownPermanent, Path: key}
		if !b.Exceeded() {
			if k, ok := d.byPath[string(key)]; ok {
				e := &d.items[k]
				it.Status, it.Orchestrator, it.Name = codec.CgroupKnown, codec.OrchDocker, e.name
				labels[0] = codec.Label{Key: labelNamespace, Value: labelDefault}
				labels[1] = codec.Label{Key: labelContainer, Value: e.name}
				it.Labels = codec.Labels{Count: 2}
			}
		}
		b.Add(&it, labels[:])
	}
	return nil
}

func (d *lookupData) apps(req *codec.AppsLookupRequest, b *codec.AppsLookupBuilder) error {
	b.SetGeneration(snapshotGeneration)
	var it codec.AppsLookupItem
	for i := uint32(0); i < req.ItemCount; i++ {
		pid := req.PID(i)
		it = codec.AppsLookupItem{Status: codec.AppUnknown, PID: pid, UID: codec.UIDUnset}
		k := lookupTable
		if !b.Exceeded() && pid >= lookupPIDBase && (pid-lookupPIDBase)%lookupPIDStep == 0 {
			k = int((pid - lookupPIDBase) / lookupPIDStep)
		}
		if k < lookupTable {
			e := &d.items[k]
			it = codec.AppsLookupItem{Status: codec.AppKnown, Orchestrator: codec.OrchDocker,
				CgroupStatus: codec.AppCgroupKnown, PID: pid, PPID: 1, UID: 1000, Starttime: 100000 + uint64(k),
				Comm: d.comm[k], CgroupPath: e.path, CgroupName: e.name}
		}
		b.Add(&it, nil)
	}
	return nil
}

func startServer(sc scenario, dir string) *service.Server {
	b := budgetFor(sc)
	sup, pref := profiles(sc)
	cfg := &service.ServerConfig{SupportedProfiles: sup, PreferredProfiles: pref, MaxRequestPayload: b.req,
		MaxRequestBatch: b.batch, MaxResponsePayload: b.resp, AuthToken: benchAuthToken, MaxSessions: 4}
	var s *service.Server
	var err error
	switch sc.method {
	case "increment":
		s, err = service.NewIncrementServer(dir, benchService, cfg, func(v uint64) (uint64, error) { return v + 1, nil })
	case "snapshot":
		items := corpus(sc.param)
		s, err = service.NewCgroupsSnapshotServer(dir, benchService, cfg, func(buf []byte) (int, error) {
			b := codec.NewCgroupsBuilder(buf, uint32(len(items)), 1, snapshotGeneration)
			for i := range items {
				it := &items[i]
				b.Add(it.hash, it.options, it.enabled, it.name, it.path)
			}
			return b.Finish()
		})
	case "cgroups-lookup":
		s, err = service.NewCgroupsLookupServer(dir, benchService, cfg, newLookupData().cgroups)
	case "apps-lookup":
		s, err = service.NewAppsLookupServer(dir, benchService, cfg, newLookupData().apps)
	}
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fail("server: %v", err)
	}
	return s
}

// ------------------------------------------------------------------ client

type client struct {
	sc  scenario
	c   *service.Client
	ctx context.Context

	values, answers []uint64

	// lookups: keys in the fixed shuffled order of the C rows
	order []int
	items []corpusItem
	paths [][]byte
	pids  []uint32

	// pipelined rows: a Level 1 session
	sess    *transport.Session
	payload []byte
	msg     transport.Message
}

func openClient(sc scenario, dir string) *client {
	c := &client{sc: sc, ctx: context.Background()}
	if sc.pipeline {
		c.openSession(dir)
		return c
	}
	b := budgetFor(sc)
	sup, pref := profiles(sc)
	ceiling := b.resp
	if b.req > ceiling {
		ceiling = b.req
	}
	cl, err := service.NewClient(dir, benchService, &service.ClientConfig{SupportedProfiles: sup,
		PreferredProfiles: pref, MaxRequestPayload: b.req, MaxRequestBatch: b.batch, MaxResponsePayload: b.resp,
		MaxPayloadCeiling: ceiling, AuthToken: benchAuthToken, CallTimeout: callTimeout})
	if err != nil {
		fail("client: %v", err)
	}
	deadline := time.Now().Add(connectWait)
	for cl.Refresh(c.ctx) != nil {
		if time.Now().After(deadline) {
			fail("connect: %v", cl.Status().LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A row named SHM must not quietly run on the baseline.
	want := uint32(protocol.ProfileBaseline)
	if sc.shm {
		want = protocol.ProfileSHMHybrid
	}
	if got := cl.Status().SelectedProfile; got != want {
		fail("%s: selected profile %#x, wanted %#x", sc.name, got, want)
	}
	c.c = cl
	if sc.items > 1 {
		c.values, c.answers = make([]uint64, sc.items), make([]uint64, sc.items)
	}
	if sc.method == "cgroups-lookup" || sc.method == "apps-lookup" {
		c.items = corpus(lookupTable)
		c.order = make([]int, lookupTable)
		for i := range c.order {
			c.order[i] = i
		}
		x := uint64(0x9E3779B97F4A7C15) // the C rows' fixed shuffle
		for i := lookupTable - 1; i > 0; i-- {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			j := int(x % uint64(i+1))
			c.order[i], c.order[j] = c.order[j], c.order[i]
		}
		for _, k := range c.order {
			c.paths = append(c.paths, c.items[k].path)
			c.pids = append(c.pids, uint32(lookupPIDBase+k*lookupPIDStep))
		}
	}
	return c
}

func (c *client) openSession(dir string) {
	b := budgetFor(c.sc)
	cfg := &transport.Config{SupportedProfiles: protocol.ProfileBaseline, MaxRequestPayload: b.req,
		MaxRequestBatch: b.batch, MaxResponsePayload: b.resp, MaxResponseBatch: b.batch,
		AuthToken: benchAuthToken, MaxInFlight: benchPipelineDepth}
	deadline := time.Now().Add(connectWait)
	for {
		s, err := transport.Connect(c.ctx, dir, benchService, cfg)
		if err == nil {
			c.sess = s
			break
		}
		if !errors.Is(err, netipc.ErrNotFound) || time.Now().After(deadline) {
			fail("session connect: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.payload = make([]byte, int(c.sc.items)*(protocol.BatchEntrySize+8))
}

var errAnswer = errors.New("wrong answer")

func (c *client) call(seq uint64) error {
	switch c.sc.method {
	case "increment":
		if c.sc.items == 1 {
			v, err := c.c.Increment(c.ctx, seq)
			if err == nil && v != seq+1 {
				err = errAnswer
			}
			return err
		}
		for i := range c.values {
			c.values[i] = seq + uint64(i)
		}
		if err := c.c.IncrementBatch(c.ctx, c.values, c.answers); err != nil {
			return err
		}
		for i, v := range c.answers {
			if v != seq+uint64(i)+1 {
				return errAnswer
			}
		}
		return nil
	case "snapshot":
		v, err := c.c.CgroupsSnapshot(c.ctx)
		if err == nil && (v.ItemCount != c.sc.param || v.Generation != snapshotGeneration) {
			err = errAnswer
		}
		return err
	case "cgroups-lookup":
		first, n := int(seq*uint64(c.sc.items)%lookupTable), int(c.sc.items)
		v, err := c.c.CgroupsLookup(c.ctx, c.paths[first:first+n])
		if err != nil {
			return err
		}
		if v.ItemCount != uint32(n) || v.Generation != snapshotGeneration {
			return errAnswer
		}
		for i := 0; i < n; i++ {
			it, err := v.Item(uint32(i))
			if err != nil || it.Status != codec.CgroupKnown || len(it.Name) != len(c.items[c.order[first+i]].name) ||
				it.Labels.Count != 2 {
				return errAnswer
			}
		}
		return nil
	case "apps-lookup":
		first, n := int(seq*uint64(c.sc.items)%lookupTable), int(c.sc.items)
		v, err := c.c.AppsLookup(c.ctx, c.pids[first:first+n])
		if err != nil {
			return err
		}
		if v.ItemCount != uint32(n) || v.Generation != snapshotGeneration {
			return errAnswer
		}
		for i := 0; i < n; i++ {
			it, err := v.Item(uint32(i))
			if err != nil || it.Status != codec.AppKnown || len(it.CgroupName) != len(c.items[c.order[first+i]].name) {
				return errAnswer
			}
		}
		return nil
	}
	return fmt.Errorf("no call for %s", c.sc.method)
}

func (c *client) send(id uint64) error {
	n := 8
	flags := uint16(0)
	if c.sc.items > 1 {
		bb := protocol.NewBatchBuilder(c.payload, c.sc.items)
		var item [8]byte
		for i := uint32(0); i < c.sc.items; i++ {
			codec.EncodeIncrement(id+uint64(i), item[:])
			bb.Add(item[:])
		}
		var err error
		if n, err = bb.Finish(); err != nil {
			return err
		}
		flags = protocol.FlagBatch
	} else {
		codec.EncodeIncrement(id, c.payload)
	}
	h := protocol.MakeHeader(protocol.KindRequest, protocol.MethodIncrement, flags, 0, 0, c.sc.items, id)
	return c.sess.Send(c.ctx, &h, c.payload[:n], time.Now().Add(callTimeout))
}

func (c *client) receive() (uint64, error) {
	if err := c.sess.Receive(c.ctx, &c.msg, time.Now().Add(callTimeout)); err != nil {
		return 0, err
	}
	h := &c.msg.Header
	if h.TransportStatus != protocol.StatusOK {
		return 0, fmt.Errorf("status %d", h.TransportStatus)
	}
	item := c.msg.Payload
	if c.sc.items > 1 {
		var err error
		if item, err = protocol.BatchItem(c.msg.Payload, h.ItemCount, 0); err != nil {
			return 0, err
		}
	}
	v, err := codec.DecodeIncrement(item)
	if err == nil && v != h.MessageID+1 {
		err = errAnswer
	}
	return h.MessageID, err
}

func (c *client) close() {
	if c.sess != nil {
		c.sess.Close()
	}
	if c.c != nil {
		c.c.Close()
	}
}
