package codec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/netdata/netipc/go/internal/testdata"
)

// Native fuzz targets, one per decoder. Oracles: no panic; whatever a
// decoder accepts reads back item by item and, for the lookup codecs (which
// validate everything), re-encodes canonically into bytes that decode to
// the same items.

func seeds(f *testing.F, names ...string) {
	dir := filepath.Join(testdata.RepoRoot(), "tests", "data", "vectors")
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
}

func FuzzIncrement(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeIncrement(b)
		if err != nil {
			return
		}
		var out [8]byte
		EncodeIncrement(v, out[:])
		if !bytes.Equal(out[:], b[:8]) {
			t.Fatal("round trip")
		}
	})
}

func FuzzStringReverse(f *testing.F) {
	f.Add([]byte{8, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStringReverse(b)
		if err != nil {
			return
		}
		out := make([]byte, len(s)+9)
		n, _ := EncodeStringReverse(s, out)
		if !bytes.Equal(out[:n], b[:n]) {
			t.Fatal("round trip")
		}
	})
}

func FuzzCgroupsRequest(f *testing.F) {
	seeds(f, "cgroups_req.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		if DecodeCgroupsRequest(b) == nil && (b[0] != 1 || b[1] != 0 || b[2] != 0 || b[3] != 0) {
			t.Fatal("accepted a bad request")
		}
	})
}

func FuzzCgroupsResponse(f *testing.F) {
	seeds(f, "cgroups_resp.bin", "cgroups_resp_empty.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeCgroupsResponse(b)
		if err != nil || v.ItemCount > 100000 {
			return
		}
		for i := uint32(0); i < v.ItemCount; i++ {
			it, err := v.Item(i)
			if err != nil {
				continue
			}
			if bytes.IndexByte(b, 0) < 0 && (len(it.Name) > 0 || len(it.Path) > 0) {
				t.Fatal("strings without their NUL")
			}
		}
	})
}

func FuzzCgroupsLookupRequest(f *testing.F) {
	seeds(f, "cgroups_lookup_req.bin", "cgroups_lookup_req_empty.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeCgroupsLookupRequest(b)
		if err != nil || r.ItemCount > 100000 {
			return
		}
		keys := make([][]byte, r.ItemCount)
		for i := range keys {
			keys[i] = r.Key(uint32(i))
		}
		out := make([]byte, len(b)+8*len(keys)+16)
		n, err := EncodeCgroupsLookupRequest(keys, out)
		if err != nil {
			t.Fatalf("keys of a valid request do not encode: %v", err)
		}
		r2, err := DecodeCgroupsLookupRequest(out[:n])
		if err != nil || r2.ItemCount != r.ItemCount {
			t.Fatal("canonical request does not decode")
		}
		for i := range keys {
			if !bytes.Equal(r2.Key(uint32(i)), keys[i]) {
				t.Fatal("key changed")
			}
		}
	})
}

func FuzzAppsLookupRequest(f *testing.F) {
	seeds(f, "apps_lookup_req.bin", "apps_lookup_req_empty.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeAppsLookupRequest(b)
		if err != nil || r.ItemCount > 100000 {
			return
		}
		pids := make([]uint32, r.ItemCount)
		for i := range pids {
			pids[i] = r.PID(uint32(i))
		}
		out := make([]byte, 16+16*len(pids))
		n, _ := EncodeAppsLookupRequest(pids, out)
		r2, err := DecodeAppsLookupRequest(out[:n])
		if err != nil {
			t.Fatal("canonical request does not decode")
		}
		for i, p := range pids {
			if r2.PID(uint32(i)) != p {
				t.Fatal("pid changed")
			}
		}
	})
}

func FuzzCgroupsLookupResponse(f *testing.F) {
	seeds(f, "cgroups_lookup_resp_known_with_labels.bin", "cgroups_lookup_resp_known_no_labels.bin",
		"cgroups_lookup_resp_unknown_retry.bin", "cgroups_lookup_resp_payload_exceeded.bin",
		"cgroups_lookup_resp_oversized_item.bin", "cgroups_lookup_resp_empty.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeCgroupsLookupResponse(b)
		if err != nil {
			return
		}
		out := make([]byte, len(b)+8)
		bl := NewCgroupsLookupBuilder(out, v.ItemCount, v.Generation)
		for i := uint32(0); i < v.ItemCount; i++ {
			it, err := v.Item(i)
			if err != nil {
				t.Fatalf("item %d of a validated response: %v", i, err)
			}
			if err := bl.Add(&it, nil); err != nil {
				t.Fatalf("item %d does not re-encode: %v", i, err)
			}
		}
		n, err := bl.Finish()
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeCgroupsLookupResponse(out[:n])
		if err != nil || v2.ItemCount != v.ItemCount || v2.Generation != v.Generation {
			t.Fatalf("re-encoded response: %v", err)
		}
		for i := uint32(0); i < v.ItemCount; i++ {
			a, _ := v.Item(i)
			c, _ := v2.Item(i)
			if a.Status != c.Status || !bytes.Equal(a.Path, c.Path) || !bytes.Equal(a.Name, c.Name) || a.Labels.Count != c.Labels.Count {
				t.Fatalf("item %d changed", i)
			}
		}
	})
}

func FuzzAppsLookupResponse(f *testing.F) {
	seeds(f, "apps_lookup_resp_known_full.bin", "apps_lookup_resp_known_retry.bin",
		"apps_lookup_resp_known_host_root.bin", "apps_lookup_resp_unknown_pid.bin", "apps_lookup_resp_empty.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeAppsLookupResponse(b)
		if err != nil {
			return
		}
		out := make([]byte, len(b)+8)
		bl := NewAppsLookupBuilder(out, v.ItemCount, v.Generation)
		for i := uint32(0); i < v.ItemCount; i++ {
			it, err := v.Item(i)
			if err != nil {
				t.Fatalf("item %d of a validated response: %v", i, err)
			}
			if err := bl.Add(&it, nil); err != nil {
				t.Fatalf("item %d does not re-encode: %v", i, err)
			}
		}
		n, err := bl.Finish()
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeAppsLookupResponse(out[:n])
		if err != nil || v2.ItemCount != v.ItemCount {
			t.Fatalf("re-encoded response: %v", err)
		}
		for i := uint32(0); i < v.ItemCount; i++ {
			a, _ := v.Item(i)
			c, _ := v2.Item(i)
			if a.PID != c.PID || a.Status != c.Status || !bytes.Equal(a.Comm, c.Comm) || a.Labels.Count != c.Labels.Count {
				t.Fatalf("item %d changed", i)
			}
		}
	})
}
