package protocol

import (
	"errors"
	"testing"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/internal/testdata"
)

func TestVectorsEnvelope(t *testing.T) {
	for _, dir := range testdata.VectorDirs(t) {
		t.Run(dir, func(t *testing.T) {
			// header.bin: decode, then encode the values back.
			hb := testdata.Vector(t, dir, "header.bin")
			var h Header
			if err := DecodeHeader(hb, &h); err != nil {
				t.Fatal(err)
			}
			want := MakeHeader(KindRequest, MethodCgroupsSnapshot, FlagBatch, 0, 12345, 42, 0xDEADBEEFCAFEBABE)
			if h != want {
				t.Fatalf("header = %+v", h)
			}
			out := make([]byte, HeaderSize)
			want.Encode(out)
			testdata.Equal(t, "header.bin", out, hb)

			cb := testdata.Vector(t, dir, "chunk_header.bin")
			var c ChunkHeader
			if err := DecodeChunkHeader(cb, &c); err != nil {
				t.Fatal(err)
			}
			wc := ChunkHeader{ChunkMagic, 1, 0, 0x1234567890ABCDEF, 100000, 3, 10, 8192}
			if c != wc {
				t.Fatalf("chunk = %+v", c)
			}
			wc.Encode(out)
			testdata.Equal(t, "chunk_header.bin", out, cb)

			hl := testdata.Vector(t, dir, "hello.bin")
			var hello Hello
			if err := DecodeHello(hl, &hello); err != nil {
				t.Fatal(err)
			}
			wh := Hello{1, 0, 0x05, 0x04, 4096, 100, 1048576, 1, 0, 0xAABBCCDDEEFF0011, 65536}
			if hello != wh {
				t.Fatalf("hello = %+v", hello)
			}
			hout := make([]byte, HelloSize)
			wh.Encode(hout)
			testdata.Equal(t, "hello.bin", hout, hl)

			ab := testdata.Vector(t, dir, "hello_ack.bin")
			var ack HelloAck
			if err := DecodeHelloAck(ab, &ack); err != nil {
				t.Fatal(err)
			}
			wa := HelloAck{1, 0, 0x07, 0x05, 0x04, 2048, 50, 65536, 1, 32768, 0, 1}
			if ack != wa {
				t.Fatalf("ack = %+v", ack)
			}
			aout := make([]byte, HelloAckSize)
			wa.Encode(aout)
			testdata.Equal(t, "hello_ack.bin", aout, ab)
		})
	}
}

func TestGoldenHandshake(t *testing.T) {
	hm := testdata.Golden(t, "hello_msg.hex")
	hello := Hello{LayoutVersion: 1, SupportedProfiles: 1, MaxRequestPayloadBytes: 1024,
		MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 65536, MaxResponseBatchItems: 1,
		AuthToken: 0xDEADBEEFCAFEBABE, PacketSize: 212992}
	out := make([]byte, HeaderSize+HelloSize)
	EncodeHelloMessage(&hello, out)
	testdata.Equal(t, "hello_msg.hex", out, hm)

	offer := ServerOffer{SupportedProfiles: 3, PreferredProfiles: 3, MaxRequestPayload: 4096,
		MaxResponsePayload: 65536, PacketSize: 65536, AuthToken: 0xDEADBEEFCAFEBABE}
	var got Hello
	var ack HelloAck
	if st := Decide(hm, &offer, 7, &got, &ack); st != StatusOK {
		t.Fatalf("status %d", st)
	}
	aout := make([]byte, HeaderSize+HelloAckSize)
	EncodeAckMessage(StatusOK, &ack, aout)
	testdata.Equal(t, "hello_ack_msg.hex", aout, testdata.Golden(t, "hello_ack_msg.hex"))
	var back HelloAck
	if err := ClientResult(aout, &hello, &back); err != nil || back != ack {
		t.Fatalf("client result %v %+v", err, back)
	}
}

func TestGoldenBatches(t *testing.T) {
	g := testdata.Golden(t, "increment_batch.hex")
	var h Header
	if err := DecodeHeader(g, &h); err != nil || h.ItemCount != 3 || h.Flags != FlagBatch || h.MessageID != 9 {
		t.Fatalf("%v %+v", err, h)
	}
	payload := g[HeaderSize:]
	if err := ValidateBatch(payload, 3); err != nil {
		t.Fatal(err)
	}
	vals := []uint64{1, 0x100, 0xFFFFFFFFFFFFFFFE}
	buf := make([]byte, 48)
	b := NewBatchBuilder(buf, 3)
	for i, v := range vals {
		item, err := BatchItem(payload, 3, uint32(i))
		if err != nil || le.Uint64(item) != v {
			t.Fatalf("item %d: %v", i, err)
		}
		var x [8]byte
		le.PutUint64(x[:], v)
		if err := b.Add(x[:]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, "increment_batch payload", buf[:n], payload)

	g = testdata.Golden(t, "string_reverse_batch.hex")
	payload = g[HeaderSize:]
	items := [][]byte{{8, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c', 0}, {8, 0, 0, 0, 0, 0, 0, 0, 0},
		{8, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0}}
	// Size first (nil buffer), then build.
	sz := NewBatchBuilder(nil, 3)
	for _, it := range items {
		sz.Add(it)
	}
	need, err := sz.Finish()
	if !errors.Is(err, netipc.ErrBufferTooSmall) || need != len(payload) {
		t.Fatalf("size %d %v, want %d", need, err, len(payload))
	}
	buf = make([]byte, need)
	b = NewBatchBuilder(buf, 3)
	for _, it := range items {
		b.Add(it)
	}
	if _, err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, "string_reverse_batch payload", buf, payload)
}

func TestGoldenChunk(t *testing.T) {
	g := testdata.Golden(t, "chunk_continuation.hex")
	var c ChunkHeader
	if err := DecodeChunkHeader(g, &c); err != nil {
		t.Fatal(err)
	}
	if c.ChunkIndex != 3 || c.ChunkCount != 4 || c.ChunkPayloadLen != 4 || c.TotalMessageLen != 132 ||
		c.MessageID != 0x1122334455667788 || len(g) != 36 {
		t.Fatalf("%+v", c)
	}
	if n := ChunkCount(100, 32, 64); n != 4 {
		t.Fatalf("count %d", n)
	}
	for i := 0; i < 4; i++ {
		if g[32+i] != byte(96+i) {
			t.Fatal("payload bytes")
		}
	}
}

func TestHeaderDecodeErrors(t *testing.T) {
	good := make([]byte, HeaderSize)
	h := MakeHeader(KindRequest, 1, 0, 0, 0, 1, 1)
	h.Encode(good)
	cases := []struct {
		name string
		mod  func(b []byte) []byte
		want netipc.Code
	}{
		{"short", func(b []byte) []byte { return b[:31] }, netipc.ErrTruncated},
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, netipc.ErrBadMagic},
		{"version", func(b []byte) []byte { b[4] = 2; return b }, netipc.ErrBadVersion},
		{"header_len", func(b []byte) []byte { b[6] = 33; return b }, netipc.ErrBadHeaderLen},
		{"kind 0", func(b []byte) []byte { b[8] = 0; return b }, netipc.ErrBadKind},
		{"kind 4", func(b []byte) []byte { b[8] = 4; return b }, netipc.ErrBadKind},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mod(append([]byte(nil), good...))
			var got Header
			if err := DecodeHeader(b, &got); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func helloMsg(mod func(*Hello)) []byte {
	h := Hello{LayoutVersion: 1, SupportedProfiles: 3, MaxRequestPayloadBytes: 1024,
		MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 1024, MaxResponseBatchItems: 1,
		AuthToken: 5, PacketSize: 65536}
	if mod != nil {
		mod(&h)
	}
	out := make([]byte, HeaderSize+HelloSize)
	EncodeHelloMessage(&h, out)
	return out
}

func TestDecideOrder(t *testing.T) {
	offer := ServerOffer{SupportedProfiles: 1, PreferredProfiles: 1, MaxRequestPayload: 1024,
		MaxResponsePayload: 4096, PacketSize: 65536, AuthToken: 5}
	cases := []struct {
		name string
		msg  []byte
		want int
	}{
		{"ok", helloMsg(nil), StatusOK},
		{"no common profile beats token", helloMsg(func(h *Hello) { h.SupportedProfiles = 2; h.AuthToken = 9 }), StatusUnsupported},
		{"token", helloMsg(func(h *Hello) { h.AuthToken = 9 }), StatusAuthFailed},
		{"token before limit", helloMsg(func(h *Hello) { h.AuthToken = 9; h.MaxRequestPayloadBytes = 1 << 20 }), StatusAuthFailed},
		{"limit", helloMsg(func(h *Hello) { h.MaxRequestPayloadBytes = 1025 }), StatusLimitExceeded},
		{"packet", helloMsg(func(h *Hello) { h.PacketSize = 32 }), StatusIncompatible},
		{"layout", helloMsg(func(h *Hello) { h.LayoutVersion = 2 }), StatusIncompatible},
		{"reserved", helloMsg(func(h *Hello) { h.Reserved = 1 }), HandshakeClose},
		{"short", helloMsg(nil)[:HeaderSize+43], HandshakeClose},
		{"version", func() []byte { b := helloMsg(nil); b[4] = 2; return b }(), StatusIncompatible},
		{"not hello", func() []byte { b := helloMsg(nil); b[12] = 2; return b }(), HandshakeClose},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Hello
			var a HelloAck
			if got := Decide(tc.msg, &offer, 1, &h, &a); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecideSelection(t *testing.T) {
	cases := []struct{ cs, cp, ss, sp, want uint32 }{
		{3, 0, 3, 3, 2}, {3, 1, 3, 3, 1}, {3, 2, 3, 3, 2}, {1, 0, 3, 3, 1}, {7, 0, 3, 3, 2}, {3, 1, 3, 2, 2},
	}
	for _, c := range cases {
		offer := ServerOffer{SupportedProfiles: c.ss, PreferredProfiles: c.sp, MaxRequestPayload: 1024,
			MaxResponsePayload: 1024, PacketSize: 100, AuthToken: 5}
		msg := helloMsg(func(h *Hello) { h.SupportedProfiles = c.cs; h.PreferredProfiles = c.cp })
		var h Hello
		var a HelloAck
		if st := Decide(msg, &offer, 3, &h, &a); st != StatusOK || a.SelectedProfile != c.want || a.AgreedPacketSize != 100 {
			t.Fatalf("%+v: status %d selected %#x", c, st, a.SelectedProfile)
		}
	}
}

func TestClientResultDistrustsAck(t *testing.T) {
	hello := Hello{LayoutVersion: 1, SupportedProfiles: 3, MaxRequestPayloadBytes: 1024,
		MaxRequestBatchItems: 4, MaxResponsePayloadBytes: 1024, MaxResponseBatchItems: 1, PacketSize: 4096}
	base := HelloAck{LayoutVersion: 1, SelectedProfile: 1, AgreedMaxRequestPayloadBytes: 1024,
		AgreedMaxRequestBatchItems: 4, AgreedMaxResponsePayloadBytes: 65536, AgreedMaxResponseBatchItems: 4,
		AgreedPacketSize: 4096, SessionID: 1}
	cases := []struct {
		name   string
		mod    func(a *HelloAck)
		status int
		want   netipc.Code
	}{
		{"ok", func(a *HelloAck) {}, StatusOK, netipc.OK},
		{"request payload grew", func(a *HelloAck) { a.AgreedMaxRequestPayloadBytes = 1025 }, StatusOK, netipc.ErrProtocol},
		{"request batch grew", func(a *HelloAck) { a.AgreedMaxRequestBatchItems = 5 }, StatusOK, netipc.ErrProtocol},
		{"response batch", func(a *HelloAck) { a.AgreedMaxResponseBatchItems = 5 }, StatusOK, netipc.ErrProtocol},
		{"packet grew", func(a *HelloAck) { a.AgreedPacketSize = 4097 }, StatusOK, netipc.ErrProtocol},
		{"packet 32", func(a *HelloAck) { a.AgreedPacketSize = 32 }, StatusOK, netipc.ErrProtocol},
		{"response 64 MiB", func(a *HelloAck) { a.AgreedMaxResponsePayloadBytes = 64 << 20 }, StatusOK, netipc.OK},
		{"response above 64 MiB", func(a *HelloAck) { a.AgreedMaxResponsePayloadBytes = 64<<20 + 1 }, StatusOK, netipc.ErrProtocol},
		{"flags", func(a *HelloAck) { a.Flags = 1 }, StatusOK, netipc.ErrProtocol},
		{"layout", func(a *HelloAck) { a.LayoutVersion = 2 }, StatusOK, netipc.ErrIncompatible},
		{"auth", func(a *HelloAck) {}, StatusAuthFailed, netipc.ErrAuthFailed},
		{"unsupported", func(a *HelloAck) {}, StatusUnsupported, netipc.ErrUnsupported},
		{"limit", func(a *HelloAck) {}, StatusLimitExceeded, netipc.ErrLimitExceeded},
		{"busy", func(a *HelloAck) {}, StatusInternalError, netipc.ErrBusy},
		{"other status", func(a *HelloAck) {}, StatusBadEnvelope, netipc.ErrHandshake},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			tc.mod(&a)
			msg := make([]byte, HeaderSize+HelloAckSize)
			EncodeAckMessage(tc.status, &a, msg)
			var got HelloAck
			err := ClientResult(msg, &hello, &got)
			if netipc.CodeOf(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBatchValidate(t *testing.T) {
	p := make([]byte, 32)
	le.PutUint32(p[0:], 0)
	le.PutUint32(p[4:], 8)
	le.PutUint32(p[8:], 8)
	le.PutUint32(p[12:], 8)
	if err := ValidateBatch(p, 2); err != nil {
		t.Fatal(err)
	}
	le.PutUint32(p[8:], 4)
	if err := ValidateBatch(p, 2); !errors.Is(err, netipc.ErrBadAlignment) {
		t.Fatal(err)
	}
	le.PutUint32(p[8:], 16)
	if err := ValidateBatch(p, 2); !errors.Is(err, netipc.ErrOutOfBounds) {
		t.Fatal(err)
	}
	if err := ValidateBatch(p, 5); !errors.Is(err, netipc.ErrTruncated) {
		t.Fatal(err)
	}
	if _, err := BatchItem(p, 2, 2); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}
