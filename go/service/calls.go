package service

import (
	"context"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/transport"
)

// decode checks and decodes an OK response into the client's result fields.
func (c *Client) decode(cl *call, m *transport.Message) error {
	batch := m.Header.Flags&protocol.FlagBatch != 0
	switch cl.kind {
	case callIncrement:
		if batch {
			return netipc.ErrBadResponse
		}
		v, err := codec.DecodeIncrement(m.Payload)
		c.incOne = v
		return err
	case callIncrementBatch:
		n := uint32(len(c.incOut))
		if !batch || m.Header.ItemCount != n {
			return netipc.ErrBadResponse
		}
		// Level 1 validated the directory (n >= 2 with the batch flag):
		// every entry is 8-aligned and inside the payload.
		dir := uint64(n) * protocol.BatchEntrySize
		if dir > uint64(len(m.Payload)) {
			return netipc.ErrTruncated
		}
		for i := uint32(0); i < n; i++ {
			item, err := protocol.BatchItem(m.Payload, n, i)
			if err != nil {
				return err
			}
			v, err := codec.DecodeIncrement(item)
			if err != nil {
				return err
			}
			c.incOut[i] = v
		}
		return nil
	case callStringReverse:
		if batch {
			return netipc.ErrBadResponse
		}
		s, err := codec.DecodeStringReverse(m.Payload)
		c.strOut = s
		return err
	case callSnapshot:
		if batch {
			return netipc.ErrBadResponse
		}
		v, err := codec.DecodeCgroupsResponse(m.Payload)
		c.snapOut = v
		return err
	case callCgroupsLookup:
		if batch {
			return netipc.ErrBadResponse
		}
		v, err := codec.DecodeCgroupsLookupResponse(m.Payload)
		c.lk.cg = v
		return err
	case callAppsLookup:
		if batch {
			return netipc.ErrBadResponse
		}
		v, err := codec.DecodeAppsLookupResponse(m.Payload)
		c.lk.app = v
		return err
	}
	return netipc.ErrInvalidArgument
}

// Increment sends INCREMENT and returns the server's answer for value
// (value + 1 by convention). The call is bounded by ctx's deadline, or by
// the configured call timeout. Errors, besides the transport's: NOT_READY
// (call Refresh), ABORTED, TIMEOUT, OVERFLOW, BAD_RESPONSE,
// REMOTE_BAD_ENVELOPE / REMOTE_INTERNAL / UNSUPPORTED (with the status in
// the *netipc.Error), codec errors of the response.
func (c *Client) Increment(ctx context.Context, value uint64) (uint64, error) {
	buf := c.requestBuffer(codec.IncrementSize)
	codec.EncodeIncrement(value, buf)
	cl := call{kind: callIncrement, method: protocol.MethodIncrement, itemCount: 1, payload: buf}
	if err := c.run(ctx, &cl, c.deadline(ctx)); err != nil {
		return 0, err
	}
	return c.incOne, nil
}

// IncrementBatch sends values as one INCREMENT batch and stores answer i in
// out[i] (len(out) must be at least len(values)). No values: no I/O; one:
// a single call; more must not exceed the configured MaxRequestBatch
// (ErrLimitExceeded, nothing sent).
func (c *Client) IncrementBatch(ctx context.Context, values, out []uint64) error {
	n := len(values)
	if len(out) < n {
		return netipc.ErrInvalidArgument
	}
	switch {
	case n == 0:
		return nil
	case n == 1:
		v, err := c.Increment(ctx, values[0])
		out[0] = v
		return err
	case uint64(n) > uint64(c.cfg.MaxRequestBatch):
		return netipc.ErrLimitExceeded
	}
	buf := c.requestBuffer(n * incrementBatchEntry)
	// The fixed layout (entry i = {8i, 8}, item i at 8i of the packed area):
	// the bytes the batch builder would write, without its calls per item.
	dir := n * protocol.BatchEntrySize
	for i, v := range values {
		e := buf[i*protocol.BatchEntrySize:]
		putU32(e, uint32(i*8))
		putU32(e[4:], 8)
		codec.EncodeIncrement(v, buf[dir+i*8:])
	}
	c.incOut = out[:n]
	cl := call{kind: callIncrementBatch, method: protocol.MethodIncrement, flags: protocol.FlagBatch,
		itemCount: uint32(n), payload: buf}
	err := c.run(ctx, &cl, c.deadline(ctx))
	c.incOut = nil
	return err
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// StringReverse sends STRING_REVERSE. The result views the client's
// receive buffer: valid until the next call, Close or a reconnect.
func (c *Client) StringReverse(ctx context.Context, s []byte) ([]byte, error) {
	need := uint64(len(s)) + stringReverseFixedPlusTerminal
	// Larger than growth can ever allow: fail before allocating for it.
	if need > uint64(c.cfg.MaxPayloadCeiling) && need > uint64(c.reqProposal) {
		return nil, c.fail(netipc.ErrOverflow)
	}
	buf := c.requestBuffer(int(need))
	if _, err := codec.EncodeStringReverse(s, buf); err != nil {
		return nil, err
	}
	cl := call{kind: callStringReverse, method: protocol.MethodStringReverse, itemCount: 1, payload: buf}
	if err := c.run(ctx, &cl, c.deadline(ctx)); err != nil {
		return nil, err
	}
	return c.strOut, nil
}

// CgroupsSnapshot fetches the whole cgroups snapshot. The view aliases the
// client's receive buffer: valid until the next call, Close or a
// reconnect on this client. Items are read with View.Item.
func (c *Client) CgroupsSnapshot(ctx context.Context) (codec.CgroupsView, error) {
	buf := c.requestBuffer(codec.CgroupsRequestSize)
	codec.EncodeCgroupsRequest(buf)
	cl := call{kind: callSnapshot, method: protocol.MethodCgroupsSnapshot, itemCount: 1, payload: buf}
	if err := c.run(ctx, &cl, c.deadline(ctx)); err != nil {
		return codec.CgroupsView{}, err
	}
	return c.snapOut, nil
}
