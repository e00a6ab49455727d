package service

import (
	"bytes"
	"context"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
)

// Lookup calls (services.md §8): n ordered keys become one logical call.
// The keys are split by the agreed request size, each part is one sub-call
// with the usual retry rules under a deadline shared by all of them, a
// PAYLOAD_EXCEEDED tail is asked for again, and the accepted items are
// re-encoded, in request order, into one canonical response in a
// client-owned buffer. When the first sub-call answers every key its
// response is copied as it is.
//
// A sub-response is trusted only after the checks of §8: one item per key
// sent, every key echoed, PAYLOAD_EXCEEDED only as a tail and never first,
// and the same generation as every earlier part. These checks fail the
// logical call without tearing the session down: the bytes were well formed
// and the stream is in step.

type lookupState struct {
	apps  bool
	paths [][]byte
	pids  []uint32
	n     int
	buf   int // which result buffer
	cg    codec.CgroupsLookupView
	app   codec.AppsLookupView
	cgb   codec.CgroupsLookupBuilder
	apb   codec.AppsLookupBuilder
}

func lookupPackedStart(n int) uint64 { return codec.LookupHeaderSize + uint64(n)*8 }

// ensure gives the current result buffer room for need bytes; the builder
// follows the move.
func (c *Client) ensure(need uint64) error {
	l := &c.lk
	b := c.lookupBufs[l.buf]
	if need <= uint64(len(b)) {
		return nil
	}
	if need > 1<<40 {
		return netipc.ErrNoMemory
	}
	size := uint64(len(b))
	if size == 0 {
		size = 4096
	}
	for size < need {
		size *= 2
	}
	// Only when a result is bigger than any before: not the steady state.
	nb := make([]byte, size)
	if l.apps {
		l.apb.Grow(nb)
	} else {
		l.cgb.Grow(nb)
	}
	c.lookupBufs[l.buf] = nb
	return nil
}

func (c *Client) used() uint64 {
	if c.lk.apps {
		return c.lk.apb.Used()
	}
	return c.lk.cgb.Used()
}

// fit returns how many keys from start fit an agreed request of limit
// bytes, and that request's size.
func (c *Client) fit(start int, limit uint64) (int, uint64) {
	l := &c.lk
	if l.apps {
		perKey := uint64(8 + codec.AppsLookupKeySize)
		room := uint64(0)
		if limit >= codec.LookupHeaderSize {
			room = (limit - codec.LookupHeaderSize) / perKey
		}
		k := uint64(l.n - start)
		if room < k {
			k = room
		}
		return int(k), codec.LookupHeaderSize + perKey*k
	}
	return codec.CgroupsLookupRequestPrefix(l.paths[start:], limit)
}

func (c *Client) oneKey(i int) uint64 {
	if c.lk.apps {
		return codec.LookupHeaderSize + 8 + codec.AppsLookupKeySize
	}
	return lookupPackedStart(1) + uint64(len(c.lk.paths[i])) + 1
}

func (c *Client) subcall(ctx context.Context, start, k int, size uint64, deadline time.Time) error {
	l := &c.lk
	req := c.requestBuffer(int(size))
	cl := call{itemCount: 1}
	var err error
	var n int
	if l.apps {
		n, err = codec.EncodeAppsLookupRequest(l.pids[start:start+k], req)
		cl.kind, cl.method = callAppsLookup, protocol.MethodAppsLookup
	} else {
		n, err = codec.EncodeCgroupsLookupRequest(l.paths[start:start+k], req)
		cl.kind, cl.method = callCgroupsLookup, protocol.MethodCgroupsLookup
	}
	if err != nil {
		return c.fail(err)
	}
	cl.payload = req[:n]
	return c.run(ctx, &cl, deadline) // counts its own failures
}

// accept checks a sub-response for keys [start, start+k): it returns the
// number of items before the PAYLOAD_EXCEEDED tail and a bound on the
// bytes their re-encoding takes.
func (c *Client) accept(start, k int) (int, uint64, error) {
	l := &c.lk
	var payload []byte
	count := uint32(0)
	if l.apps {
		payload, count = l.app.Payload, l.app.ItemCount
	} else {
		payload, count = l.cg.Payload, l.cg.ItemCount
	}
	if int(count) != k {
		return 0, 0, netipc.ErrBadResponse
	}
	tail := k
	for i := 0; i < k; i++ {
		exceeded := false
		if l.apps {
			it, err := l.app.Item(uint32(i))
			if err != nil {
				return 0, 0, err
			}
			if it.PID != l.pids[start+i] {
				return 0, 0, netipc.ErrBadResponse // not the key we sent
			}
			exceeded = it.Status == codec.AppPayloadExceeded
		} else {
			it, err := l.cg.Item(uint32(i))
			if err != nil {
				return 0, 0, err
			}
			if !bytes.Equal(it.Path, l.paths[start+i]) {
				return 0, 0, netipc.ErrBadResponse
			}
			exceeded = it.Status == codec.CgroupPayloadExceeded
		}
		if exceeded {
			if tail == k {
				tail = i
			}
		} else if tail < k {
			return 0, 0, netipc.ErrBadResponse // an answer after the tail began
		}
	}
	if k > 0 && tail == 0 {
		return 0, 0, netipc.ErrOverflow // not one answer fits: no progress possible
	}
	// Directory lengths plus alignment slack: the canonical re-encoding of
	// a valid item is never longer than the item.
	bytesBound := uint64(0)
	for i := 0; i < tail; i++ {
		e := payload[codec.LookupHeaderSize+8*i:]
		bytesBound += uint64(uint32(e[4])|uint32(e[5])<<8|uint32(e[6])<<16|uint32(e[7])<<24) + 7
	}
	return tail, bytesBound, nil
}

func (c *Client) copyItems(accepted int) error {
	l := &c.lk
	for i := 0; i < accepted; i++ {
		if l.apps {
			it, err := l.app.Item(uint32(i))
			if err == nil {
				err = l.apb.Add(&it, nil)
			}
			if err != nil {
				return err
			}
		} else {
			it, err := l.cg.Item(uint32(i))
			if err == nil {
				err = l.cgb.Add(&it, nil)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Client) overCeiling() bool {
	return c.used() > uint64(c.cfg.MaxLookupResponseBytes)+7
}

// renegotiate: not even the next key alone fits the agreed request size,
// but this client's proposal would hold it: reconnect at once and use the
// new agreement if it grew enough.
func (c *Client) renegotiate(ctx context.Context, one, limit uint64, deadline time.Time) error {
	c.breakSession()
	err := c.reconnectForCall(ctx, deadline)
	if err != nil {
		if !c.sticky() {
			c.setState(Broken)
		}
		if code := netipc.CodeOf(err); code == netipc.ErrTimeout || code == netipc.ErrAborted {
			return err
		}
		return netipc.ErrOverflow
	}
	now := uint64(c.sess.Info().MaxRequestPayload)
	if now > limit && one <= now {
		return nil
	}
	return netipc.ErrOverflow
}

func (c *Client) runLookup(ctx context.Context) (int, uint64, error) {
	l := &c.lk
	cfg := &c.cfg
	if c.State() != Ready {
		return 0, 0, c.fail(netipc.ErrNotReady)
	}
	header := lookupPackedStart(l.n)
	if uint64(l.n) > uint64(cfg.MaxLookupItems) || header > uint64(cfg.MaxLookupResponseBytes) {
		return 0, 0, c.fail(netipc.ErrOverflow)
	}
	if !l.apps {
		// A logical call covers all of its keys or fails as a whole.
		for _, p := range l.paths {
			if len(p) == 0 {
				return 0, 0, c.fail(netipc.ErrBadField)
			}
			if bytes.IndexByte(p, 0) >= 0 {
				return 0, 0, c.fail(netipc.ErrEmbeddedNUL)
			}
		}
	}
	deadline := c.deadline(ctx)
	// The result buffer not holding the previous call's view.
	l.buf = c.lookupTurn ^ 1
	if uint64(len(c.lookupBufs[l.buf])) < header {
		size := uint64(4096)
		for size < header {
			size *= 2
		}
		c.lookupBufs[l.buf] = make([]byte, size)
	}
	if l.apps {
		l.apb = codec.NewAppsLookupBuilder(c.lookupBufs[l.buf], uint32(l.n), 0)
	} else {
		l.cgb = codec.NewCgroupsLookupBuilder(c.lookupBufs[l.buf], uint32(l.n), 0)
	}
	start, subcalls := 0, uint32(0)
	haveGen, first := false, true
	gen := uint64(0) // when no sub-call happens (every key oversized)
	for first || start < l.n {
		first = false
		if ctx.Err() != nil {
			return 0, 0, c.fail(netipc.ErrAborted)
		}
		if !time.Now().Before(deadline) {
			return 0, 0, c.fail(netipc.ErrTimeout)
		}
		if c.State() != Ready {
			return 0, 0, c.fail(netipc.ErrNotReady)
		}
		limit := uint64(c.sess.Info().MaxRequestPayload)
		k, size := c.fit(start, limit)
		if k == 0 && start < l.n {
			one := c.oneKey(start)
			if one <= uint64(c.reqProposal) {
				if err := c.renegotiate(ctx, one, limit, deadline); err != nil {
					return 0, 0, c.fail(err)
				}
				first = true // the same keys again under the new limit
				continue
			}
			if l.apps {
				return 0, 0, c.fail(netipc.ErrOverflow)
			}
			// A path too long to send at all: its final answer is local.
			if err := c.ensure(c.used() + codec.CgroupsLookupMinItem(len(l.paths[start]))); err != nil {
				return 0, 0, c.fail(err)
			}
			it := codec.CgroupsLookupItem{Status: codec.CgroupOversizedItem, Path: l.paths[start]}
			err := l.cgb.Add(&it, nil)
			start++
			if err == nil && c.overCeiling() {
				err = netipc.ErrOverflow
			}
			if err != nil {
				return 0, 0, c.fail(err)
			}
			continue
		}
		if subcalls++; subcalls > cfg.MaxLookupSubcalls {
			return 0, 0, c.fail(netipc.ErrOverflow)
		}
		if err := c.subcall(ctx, start, k, size, deadline); err != nil {
			return 0, 0, err
		}
		g := l.cg.Generation
		if l.apps {
			g = l.app.Generation
		}
		if haveGen && g != gen {
			return 0, 0, c.fail(netipc.ErrGenerationChanged)
		}
		haveGen, gen = true, g
		accepted, bound, err := c.accept(start, k)
		if err == nil && start == 0 && accepted == l.n {
			return c.whole(gen)
		}
		if err == nil {
			err = c.ensure(c.used() + bound)
		}
		if err == nil {
			err = c.copyItems(accepted)
		}
		if err == nil && c.overCeiling() {
			err = netipc.ErrOverflow
		}
		if err != nil {
			return 0, 0, c.fail(err)
		}
		start += accepted
	}
	var n int
	var err error
	if l.apps {
		n, err = l.apb.Finish()
		l.apb.SetGeneration(gen)
	} else {
		n, err = l.cgb.Finish()
		l.cgb.SetGeneration(gen)
	}
	if err == nil && uint64(n) > uint64(cfg.MaxLookupResponseBytes) {
		err = netipc.ErrOverflow
	}
	if err != nil {
		return 0, 0, c.fail(err)
	}
	c.lookupTurn = l.buf
	return n, gen, nil
}

// whole: the first sub-call answered every key. Its response, validated and
// checked, is the result as it is: one copy into the result buffer (the
// session's buffer is reused by the next call).
func (c *Client) whole(gen uint64) (int, uint64, error) {
	l := &c.lk
	p := l.cg.Payload
	if l.apps {
		p = l.app.Payload
	}
	if uint64(len(p)) > uint64(c.cfg.MaxLookupResponseBytes) {
		return 0, 0, c.fail(netipc.ErrOverflow)
	}
	if len(c.lookupBufs[l.buf]) < len(p) {
		size := len(c.lookupBufs[l.buf])
		for size < len(p) {
			size *= 2
		}
		c.lookupBufs[l.buf] = make([]byte, size)
	}
	copy(c.lookupBufs[l.buf], p)
	c.lookupTurn = l.buf
	return len(p), gen, nil
}

// CgroupsLookup asks for n ordered cgroup paths in one logical call and
// returns ONE response in request order, item i answering paths[i]. Keys
// are split into as many sub-calls as the agreed request size needs, under
// one deadline (ctx's, or the configured call timeout); a PAYLOAD_EXCEEDED
// tail is asked for again and the answers are stitched; every part must
// carry the same generation, one item per key and the echoed keys.
// PAYLOAD_EXCEEDED never reaches the caller; OVERSIZED_ITEM is a final
// per-item outcome (also produced locally for a path too long to send).
// No keys sends one empty request (a probe that returns the generation).
//
// The view aliases a client-owned buffer, valid until the next call, Close
// or a reconnect; paths may alias the previous call's view (two buffers are
// used in turn). Errors, besides those of the other calls: BAD_FIELD /
// EMBEDDED_NUL (an empty path or a NUL in one: nothing sent), OVERFLOW,
// GENERATION_CHANGED (the provider's data changed between parts: call
// again), BAD_RESPONSE. These lookup-level failures leave the session up.
func (c *Client) CgroupsLookup(ctx context.Context, paths [][]byte) (codec.CgroupsLookupView, error) {
	c.lk.apps, c.lk.paths, c.lk.pids, c.lk.n = false, paths, nil, len(paths)
	n, gen, err := c.runLookup(ctx)
	c.lk.paths = nil
	if err != nil {
		return codec.CgroupsLookupView{}, err
	}
	return codec.CgroupsLookupView{Payload: c.lookupBufs[c.lookupTurn][:n], ItemCount: uint32(len(paths)), Generation: gen}, nil
}

// AppsLookup is CgroupsLookup for APPS_LOOKUP: one answer per pid, in order.
func (c *Client) AppsLookup(ctx context.Context, pids []uint32) (codec.AppsLookupView, error) {
	c.lk.apps, c.lk.paths, c.lk.pids, c.lk.n = true, nil, pids, len(pids)
	n, gen, err := c.runLookup(ctx)
	c.lk.pids = nil
	if err != nil {
		return codec.AppsLookupView{}, err
	}
	return codec.AppsLookupView{Payload: c.lookupBufs[c.lookupTurn][:n], ItemCount: uint32(len(pids)), Generation: gen}, nil
}
