package protocol

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/netdata/netipc/go/internal/testdata"
)

// Native fuzz targets, one per decoder: a decoder must never panic, and
// what it accepts must encode back to the same bytes. make test runs each
// for a few seconds (scripts/test.sh, step go).

func seedVectors(f *testing.F, names ...string) {
	dir := filepath.Join(testdata.RepoRoot(), "tests", "data", "vectors")
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
}

func FuzzHeader(f *testing.F) {
	seedVectors(f, "header.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if DecodeHeader(b, &h) != nil {
			return
		}
		out := make([]byte, HeaderSize)
		h.Encode(out)
		if !bytes.Equal(out, b[:HeaderSize]) {
			t.Fatal("header round trip")
		}
	})
}

func FuzzChunkHeader(f *testing.F) {
	seedVectors(f, "chunk_header.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		var c ChunkHeader
		if DecodeChunkHeader(b, &c) != nil {
			return
		}
		out := make([]byte, ChunkHeaderSize)
		c.Encode(out)
		if !bytes.Equal(out, b[:ChunkHeaderSize]) {
			t.Fatal("chunk header round trip")
		}
	})
}

func FuzzHello(f *testing.F) {
	seedVectors(f, "hello.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Hello
		if DecodeHello(b, &h) != nil {
			return
		}
		out := make([]byte, HelloSize)
		h.Encode(out)
		if !bytes.Equal(out, b[:HelloSize]) {
			t.Fatal("hello round trip")
		}
	})
}

func FuzzHelloAck(f *testing.F) {
	seedVectors(f, "hello_ack.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		var a HelloAck
		if DecodeHelloAck(b, &a) != nil {
			return
		}
		out := make([]byte, HelloAckSize)
		a.Encode(out)
		if !bytes.Equal(out, b[:HelloAckSize]) {
			t.Fatal("hello ack round trip")
		}
		if a.Flags != 0 || a.LayoutVersion != 1 {
			t.Fatal("accepted a bad ack")
		}
	})
}

// FuzzHandshake runs the server decision and the client's checks on any
// bytes: no panic, and an OK decision always passes the client's checks.
func FuzzHandshake(f *testing.F) {
	msg := make([]byte, HeaderSize+HelloSize)
	EncodeHelloMessage(&Hello{LayoutVersion: 1, SupportedProfiles: 3, MaxRequestPayloadBytes: 1024,
		MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 1024, MaxResponseBatchItems: 1, PacketSize: 4096}, msg)
	f.Add(msg)
	offer := ServerOffer{SupportedProfiles: 3, PreferredProfiles: 3, MaxRequestPayload: 4096,
		MaxResponsePayload: 65536, PacketSize: 65536}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Hello
		var a HelloAck
		st := Decide(b, &offer, 1, &h, &a)
		if st != StatusOK {
			return
		}
		ackMsg := make([]byte, HeaderSize+HelloAckSize)
		EncodeAckMessage(st, &a, ackMsg)
		var back HelloAck
		err := ClientResult(ackMsg, &h, &back)
		// The client refuses only a packet size or limits its own HELLO
		// could not have asked for.
		if err != nil && h.MaxRequestBatchItems >= a.AgreedMaxRequestBatchItems && a.AgreedPacketSize > HeaderSize {
			t.Fatalf("client refused the server's OK: %v (%+v)", err, a)
		}
	})
}

func FuzzBatch(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}, uint32(2))
	f.Fuzz(func(t *testing.T, b []byte, n uint32) {
		n %= 4096
		if ValidateBatch(b, n) != nil {
			return
		}
		items := make([][]byte, n)
		for i := uint32(0); i < n; i++ {
			it, err := BatchItem(b, n, i)
			if err != nil {
				t.Fatalf("item %d of a valid batch: %v", i, err)
			}
			items[i] = it
		}
		bb := NewBatchBuilder(nil, n)
		for _, it := range items {
			bb.Add(it)
		}
		size, _ := bb.Finish()
		out := make([]byte, size)
		bb = NewBatchBuilder(out, n)
		for _, it := range items {
			bb.Add(it)
		}
		if _, err := bb.Finish(); err != nil {
			t.Fatal(err)
		}
		if ValidateBatch(out, n) != nil {
			t.Fatal("rebuilt batch does not validate")
		}
	})
}
