package service

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/netdata/netipc/go/protocol"
)

// A provider that selects SHM but never creates the region: the client's
// attach fails within its window, it drops SHM for good and reconnects on
// the baseline at once (services.md §2), and calls work there.
func TestSHMAttachFailureFallsBackToBaseline(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: filepath.Join(dir, "inc.sock"), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hellos := make(chan uint32, 4)
	go func() {
		for sid := uint64(1); ; sid++ {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go fakeProvider(c, sid, hellos)
		}
	}()
	c, err := NewClient(dir, "inc", &ClientConfig{SupportedProfiles: protocol.ProfileBaseline | protocol.ProfileSHMHybrid,
		SHMAttachTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Refresh(bg); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if st := c.Status(); st.State != Ready || st.SelectedProfile != protocol.ProfileBaseline {
		t.Fatalf("%+v", st)
	}
	if first, second := <-hellos, <-hellos; first != 3 || second != 1 {
		t.Fatalf("offers %#x then %#x, want SHM then baseline only", first, second)
	}
	if v, err := c.Increment(bg, 9); err != nil || v != 10 {
		t.Fatalf("call on the baseline: %d %v", v, err)
	}
	// The SHM bit stays dropped on later connects.
	c.breakSession()
	if err := c.Refresh(bg); err != nil || <-hellos != 1 {
		t.Fatalf("reconnect: %v", err)
	}
}

// fakeProvider answers the HELLO itself: SHM is selected whenever offered
// (no region exists), else the baseline, which then serves INCREMENT.
func fakeProvider(c *net.UnixConn, sid uint64, hellos chan<- uint32) {
	defer c.Close()
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	var hello protocol.Hello
	if err != nil || n < protocol.HeaderSize+protocol.HelloSize || protocol.DecodeHello(buf[protocol.HeaderSize:n], &hello) != nil {
		return
	}
	hellos <- hello.SupportedProfiles
	ack := protocol.HelloAck{LayoutVersion: 1, ServerSupportedProfiles: 3, IntersectionProfiles: hello.SupportedProfiles & 3,
		SelectedProfile:              protocol.ProfileHighest(hello.SupportedProfiles & 3),
		AgreedMaxRequestPayloadBytes: hello.MaxRequestPayloadBytes, AgreedMaxRequestBatchItems: hello.MaxRequestBatchItems,
		AgreedMaxResponsePayloadBytes: 1024, AgreedMaxResponseBatchItems: hello.MaxRequestBatchItems,
		AgreedPacketSize: 4096, SessionID: sid}
	out := make([]byte, protocol.HeaderSize+protocol.HelloAckSize)
	protocol.EncodeAckMessage(protocol.StatusOK, &ack, out)
	if _, err := c.Write(out); err != nil || ack.SelectedProfile != protocol.ProfileBaseline {
		time.Sleep(200 * time.Millisecond) // keep the socket up while the client tries to attach
		return
	}
	for {
		n, err := c.Read(buf)
		var h protocol.Header
		if err != nil || protocol.DecodeHeader(buf[:n], &h) != nil || n < protocol.HeaderSize+8 {
			return
		}
		v := binary.LittleEndian.Uint64(buf[protocol.HeaderSize:])
		r := protocol.MakeHeader(protocol.KindResponse, h.Code, 0, 0, 8, 1, h.MessageID)
		r.Encode(out)
		binary.LittleEndian.PutUint64(out[protocol.HeaderSize:], v+1)
		if _, err := c.Write(out[:protocol.HeaderSize+8]); err != nil {
			return
		}
	}
}
