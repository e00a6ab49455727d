package codec

import (
	"bytes"
	"errors"
	"testing"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/internal/testdata"
)

func s(x string) []byte { return []byte(x) }

type snapItem struct {
	hash, options, enabled uint32
	name, path             string
}

func checkSnapshot(t *testing.T, what string, p []byte, sysd uint32, gen uint64, items []snapItem) {
	t.Helper()
	v, err := DecodeCgroupsResponse(p)
	if err != nil || v.ItemCount != uint32(len(items)) || v.SystemdEnabled != sysd || v.Generation != gen {
		t.Fatalf("%s: %v %+v", what, err, v)
	}
	b := NewCgroupsBuilder(make([]byte, len(p)), uint32(len(items)), sysd, gen)
	for i, w := range items {
		it, err := v.Item(uint32(i))
		if err != nil || it.Hash != w.hash || it.Options != w.options || it.Enabled != w.enabled ||
			string(it.Name) != w.name || string(it.Path) != w.path {
			t.Fatalf("%s item %d: %v %+v", what, i, err, it)
		}
		if err := b.Add(w.hash, w.options, w.enabled, s(w.name), s(w.path)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, what, b.buf[:n], p)
}

type cgLookupWant struct {
	status, orch uint16
	path, name   string
	labels       [][2]string
}

func labelsOf(l [][2]string) []Label {
	out := make([]Label, len(l))
	for i, kv := range l {
		out[i] = Label{s(kv[0]), s(kv[1])}
	}
	return out
}

func checkLabelsEq(t *testing.T, what string, got Labels, want [][2]string) {
	t.Helper()
	if int(got.Count) != len(want) {
		t.Fatalf("%s: %d labels, want %d", what, got.Count, len(want))
	}
	for i, kv := range want {
		l, err := got.At(i)
		if err != nil || string(l.Key) != kv[0] || string(l.Value) != kv[1] {
			t.Fatalf("%s label %d: %v %q=%q", what, i, err, l.Key, l.Value)
		}
	}
}

func checkCgLookup(t *testing.T, what string, p []byte, gen uint64, want []cgLookupWant) {
	t.Helper()
	v, err := DecodeCgroupsLookupResponse(p)
	if err != nil || v.ItemCount != uint32(len(want)) || v.Generation != gen {
		t.Fatalf("%s: %v %+v", what, err, v)
	}
	b := NewCgroupsLookupBuilder(make([]byte, len(p)), uint32(len(want)), gen)
	for i, w := range want {
		it, err := v.Item(uint32(i))
		if err != nil || it.Status != w.status || it.Orchestrator != w.orch || string(it.Path) != w.path ||
			string(it.Name) != w.name {
			t.Fatalf("%s item %d: %v %+v", what, i, err, it)
		}
		checkLabelsEq(t, what, it.Labels, w.labels)
		in := CgroupsLookupItem{Status: w.status, Orchestrator: w.orch, Path: s(w.path), Name: s(w.name),
			Labels: Labels{Count: uint16(len(w.labels))}}
		if err := b.Add(&in, labelsOf(w.labels)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, what, b.core.buf[:n], p)
	// Round trip through the decoded items (labels copied from the view).
	b2 := NewCgroupsLookupBuilder(make([]byte, len(p)), v.ItemCount, gen)
	for i := uint32(0); i < v.ItemCount; i++ {
		it, _ := v.Item(i)
		if err := b2.Add(&it, nil); err != nil {
			t.Fatal(err)
		}
	}
	n, _ = b2.Finish()
	testdata.Equal(t, what+" re-encoded", b2.core.buf[:n], p)
}

type appWant struct {
	item   AppsLookupItem
	labels [][2]string
}

func checkAppLookup(t *testing.T, what string, p []byte, gen uint64, want []appWant) {
	t.Helper()
	v, err := DecodeAppsLookupResponse(p)
	if err != nil || v.ItemCount != uint32(len(want)) || v.Generation != gen {
		t.Fatalf("%s: %v %+v", what, err, v)
	}
	b := NewAppsLookupBuilder(make([]byte, len(p)), uint32(len(want)), gen)
	for i, w := range want {
		it, err := v.Item(uint32(i))
		x := w.item
		if err != nil || it.Status != x.Status || it.Orchestrator != x.Orchestrator ||
			it.CgroupStatus != x.CgroupStatus || it.PID != x.PID || it.PPID != x.PPID || it.UID != x.UID ||
			it.Starttime != x.Starttime || !bytes.Equal(it.Comm, x.Comm) ||
			!bytes.Equal(it.CgroupPath, x.CgroupPath) || !bytes.Equal(it.CgroupName, x.CgroupName) {
			t.Fatalf("%s item %d: %v %+v", what, i, err, it)
		}
		checkLabelsEq(t, what, it.Labels, w.labels)
		x.Labels = Labels{Count: uint16(len(w.labels))}
		if err := b.Add(&x, labelsOf(w.labels)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, what, b.core.buf[:n], p)
}

func app(status, orch, cgs uint16, pid, ppid, uid uint32, start uint64, comm, path, name string) AppsLookupItem {
	return AppsLookupItem{Status: status, Orchestrator: orch, CgroupStatus: cgs, PID: pid, PPID: ppid, UID: uid,
		Starttime: start, Comm: s(comm), CgroupPath: s(path), CgroupName: s(name)}
}

func TestVectors(t *testing.T) {
	for _, dir := range testdata.VectorDirs(t) {
		t.Run(dir, func(t *testing.T) {
			v := func(name string) []byte { return testdata.Vector(t, dir, name) }
			// CGROUPS_SNAPSHOT
			req := v("cgroups_req.bin")
			if err := DecodeCgroupsRequest(req); err != nil {
				t.Fatal(err)
			}
			out := make([]byte, 4)
			EncodeCgroupsRequest(out)
			testdata.Equal(t, "cgroups_req", out, req)
			checkSnapshot(t, "cgroups_resp", v("cgroups_resp.bin"), 1, 999, []snapItem{
				{100, 0, 1, "init.scope", "/sys/fs/cgroup/init.scope"},
				{200, 2, 0, "system.slice/docker-abc.scope", "/sys/fs/cgroup/system.slice/docker-abc.scope"},
				{300, 0, 1, "", ""},
			})
			checkSnapshot(t, "cgroups_resp_empty", v("cgroups_resp_empty.bin"), 0, 42, nil)

			// CGROUPS_LOOKUP requests
			paths := [][]byte{s("/sys/fs/cgroup/a"), s("/system.slice/docker-abc.scope")}
			for _, c := range []struct {
				file  string
				paths [][]byte
			}{{"cgroups_lookup_req.bin", paths}, {"cgroups_lookup_req_empty.bin", nil}} {
				p := v(c.file)
				r, err := DecodeCgroupsLookupRequest(p)
				if err != nil || r.ItemCount != uint32(len(c.paths)) {
					t.Fatalf("%s: %v", c.file, err)
				}
				for i, want := range c.paths {
					if !bytes.Equal(r.Key(uint32(i)), want) {
						t.Fatalf("%s key %d", c.file, i)
					}
				}
				buf := make([]byte, len(p))
				n, err := EncodeCgroupsLookupRequest(c.paths, buf)
				if err != nil {
					t.Fatal(err)
				}
				testdata.Equal(t, c.file, buf[:n], p)
			}
			checkCgLookup(t, "known_with_labels", v("cgroups_lookup_resp_known_with_labels.bin"), 100,
				[]cgLookupWant{{0, 3, "/kubepods.slice/pod-a", "pod-a", [][2]string{{"namespace", "default"}, {"pod", "web"}}}})
			checkCgLookup(t, "known_no_labels", v("cgroups_lookup_resp_known_no_labels.bin"), 101,
				[]cgLookupWant{{0, 2, "/docker/abc", "", nil}})
			checkCgLookup(t, "unknown_retry", v("cgroups_lookup_resp_unknown_retry.bin"), 102,
				[]cgLookupWant{{1, 0, "/missing/retry", "", nil}})
			checkCgLookup(t, "unknown_permanent", v("cgroups_lookup_resp_unknown_permanent.bin"), 103,
				[]cgLookupWant{{2, 0, "/gone", "", nil}})
			checkCgLookup(t, "payload_exceeded", v("cgroups_lookup_resp_payload_exceeded.bin"), 104,
				[]cgLookupWant{{3, 0, "/payload-exceeded", "", nil}})
			checkCgLookup(t, "oversized", v("cgroups_lookup_resp_oversized_item.bin"), 105,
				[]cgLookupWant{{4, 0, "/oversized", "", nil}})
			checkCgLookup(t, "empty", v("cgroups_lookup_resp_empty.bin"), 106, nil)

			// APPS_LOOKUP requests
			for _, c := range []struct {
				file string
				pids []uint32
			}{{"apps_lookup_req.bin", []uint32{0, 1234, 4321}}, {"apps_lookup_req_empty.bin", nil}} {
				p := v(c.file)
				r, err := DecodeAppsLookupRequest(p)
				if err != nil || r.ItemCount != uint32(len(c.pids)) {
					t.Fatalf("%s: %v", c.file, err)
				}
				for i, want := range c.pids {
					if r.PID(uint32(i)) != want {
						t.Fatalf("%s pid %d", c.file, i)
					}
				}
				buf := make([]byte, len(p))
				n, _ := EncodeAppsLookupRequest(c.pids, buf)
				testdata.Equal(t, c.file, buf[:n], p)
			}
			checkAppLookup(t, "known_full", v("apps_lookup_resp_known_full.bin"), 200, []appWant{{
				app(0, 2, 0, 1234, 1, 1000, 123456, "123456789012345", "/docker/abc", "container-a"),
				[][2]string{{"image", "nginx:latest"}, {"service", "web"}}}})
			checkAppLookup(t, "known_retry", v("apps_lookup_resp_known_retry.bin"), 201, []appWant{{
				app(0, 0, 1, 1235, 1, 1000, 123457, "app", "/pending", ""), nil}})
			checkAppLookup(t, "known_permanent", v("apps_lookup_resp_known_permanent.bin"), 202, []appWant{{
				app(0, 0, 2, 1236, 1, 1000, 123458, "app2", "/permanent", ""), nil}})
			checkAppLookup(t, "known_host_root", v("apps_lookup_resp_known_host_root.bin"), 203, []appWant{{
				app(0, 0, 3, 1237, 1, 0, 123459, "sshd", "", ""), nil}})
			checkAppLookup(t, "unknown_pid", v("apps_lookup_resp_unknown_pid.bin"), 204, []appWant{{
				app(1, 0, 0, 0, 0, UIDUnset, 0, "", "", ""), nil}})
			checkAppLookup(t, "payload_exceeded", v("apps_lookup_resp_payload_exceeded.bin"), 205, []appWant{{
				app(2, 0, 0, 1238, 0, UIDUnset, 0, "", "", ""), nil}})
			checkAppLookup(t, "oversized", v("apps_lookup_resp_oversized_item.bin"), 206, []appWant{{
				app(3, 0, 0, 1239, 0, UIDUnset, 0, "", "", ""), nil}})
			checkAppLookup(t, "empty", v("apps_lookup_resp_empty.bin"), 207, nil)
		})
	}
}

func TestGoldenCodec(t *testing.T) {
	// INCREMENT messages: the payload after the 32-byte header.
	for _, c := range []struct {
		file string
		v    uint64
	}{{"increment_req.hex", 41}, {"increment_resp.hex", 42}} {
		g := testdata.Golden(t, c.file)
		got, err := DecodeIncrement(g[32:])
		if err != nil || got != c.v {
			t.Fatalf("%s: %v %d", c.file, err, got)
		}
		out := make([]byte, 8)
		EncodeIncrement(c.v, out)
		testdata.Equal(t, c.file, out, g[32:])
	}
	for _, c := range []struct{ file, str string }{{"string_reverse_abc.hex", "abc"}, {"string_reverse_empty.hex", ""}} {
		g := testdata.Golden(t, c.file)
		got, err := DecodeStringReverse(g)
		if err != nil || string(got) != c.str {
			t.Fatalf("%s: %v %q", c.file, err, got)
		}
		out := make([]byte, len(g))
		n, _ := EncodeStringReverse(s(c.str), out)
		testdata.Equal(t, c.file, out[:n], g)
	}
	g := testdata.Golden(t, "cgroups_snapshot_2items.hex")
	v, err := DecodeCgroupsResponse(g)
	if err != nil || v.ItemCount != 2 {
		t.Fatal(err)
	}
	var items []snapItem
	for i := uint32(0); i < 2; i++ {
		it, err := v.Item(i)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, snapItem{it.Hash, it.Options, it.Enabled, string(it.Name), string(it.Path)})
	}
	checkSnapshot(t, "cgroups_snapshot_2items", g, v.SystemdEnabled, v.Generation, items)

	g = testdata.Golden(t, "cgroups_lookup_req_3keys.hex")
	keys := [][]byte{s("/a"), s("/system.slice"), s("/x/y/z1")}
	out := make([]byte, len(g))
	n, err := EncodeCgroupsLookupRequest(keys, out)
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, "cgroups_lookup_req_3keys", out[:n], g)

	// The mixed response is what the reply builder makes under a 170-byte budget.
	reqBuf := make([]byte, 256)
	n, _ = EncodeCgroupsLookupRequest([][]byte{s("/p/c1"), s("/q"), s("/r/s")}, reqBuf)
	req, err := DecodeCgroupsLookupRequest(reqBuf[:n])
	if err != nil {
		t.Fatal(err)
	}
	g = testdata.Golden(t, "cgroups_lookup_resp_mixed.hex")
	resp := make([]byte, 170)
	b := NewCgroupsLookupReplyBuilder(resp, &req, 0x0102030405060708)
	b.Add(&CgroupsLookupItem{Status: 0, Orchestrator: 6, Path: s("/p/c1"), Name: s("c1"), Labels: Labels{Count: 1}},
		[]Label{{s("img"), nil}})
	b.Add(&CgroupsLookupItem{Status: 1, Path: s("/q")}, nil)
	b.Add(&CgroupsLookupItem{Status: 0, Orchestrator: 1, Path: s("/r/s"), Name: s("a-longer-name-xy")}, nil)
	n, err = b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	testdata.Equal(t, "cgroups_lookup_resp_mixed", resp[:n], g)
	if !b.Exceeded() {
		t.Fatal("the third item should have been replaced")
	}

	g = testdata.Golden(t, "apps_lookup_resp_two.hex")
	checkAppLookup(t, "apps_lookup_resp_two", g, 9, []appWant{
		{app(0, 3, 0, 42, 1, 1000, 77, "abcdefghijklmno", "/k", "k"), [][2]string{{"a", "1"}, {"bb", ""}}},
		{app(1, 0, 0, 43, 0, UIDUnset, 0, "", "", ""), nil},
	})
}

func TestBuilderSizes(t *testing.T) {
	b := NewCgroupsBuilder(nil, 2, 0, 0)
	b.Add(1, 0, 0, s("a"), s("b"))
	b.Add(2, 0, 0, s("cc"), s(""))
	n, err := b.Finish()
	if !errors.Is(err, netipc.ErrBufferTooSmall) || n != 24+16+40+36 {
		t.Fatalf("%d %v", n, err)
	}
	b = NewCgroupsBuilder(make([]byte, 100), 1, 0, 0)
	if _, err := b.Finish(); !errors.Is(err, netipc.ErrBadItemCount) {
		t.Fatal(err)
	}
	n, err = EncodeCgroupsLookupRequest([][]byte{s("/a"), s("/bcd")}, nil)
	if !errors.Is(err, netipc.ErrBufferTooSmall) || n != 16+16+8+5 {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := EncodeCgroupsLookupRequest([][]byte{s("")}, nil); !errors.Is(err, netipc.ErrBadField) {
		t.Fatal(err)
	}
	if _, err := EncodeCgroupsLookupRequest([][]byte{s("a\x00b")}, nil); !errors.Is(err, netipc.ErrEmbeddedNUL) {
		t.Fatal(err)
	}
	k, size := CgroupsLookupRequestPrefix([][]byte{s("/a"), s("/bcd"), s("/e")}, 16+16+8+5)
	if k != 2 || size != 45 {
		t.Fatalf("prefix %d %d", k, size)
	}
}

func TestReplyBuilderPolicy(t *testing.T) {
	pids := []uint32{1, 2, 3}
	reqBuf := make([]byte, 128)
	n, _ := EncodeAppsLookupRequest(pids, reqBuf)
	req, _ := DecodeAppsLookupRequest(reqBuf[:n])
	known := func(pid uint32) *AppsLookupItem {
		it := app(0, 0, 0, pid, 1, 0, 1, "a-command-name", "/some/long/cgroup/path/for/the/test", "x")
		return &it
	}
	// Room for the header, directory, one full item and two minimal ones.
	budget := 16 + 24 + 136 + 64 + 63
	resp := make([]byte, budget)
	b := NewAppsLookupReplyBuilder(resp, &req, 5)
	for _, p := range pids {
		if err := b.Add(known(p), nil); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeAppsLookupResponse(resp[:n])
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{AppKnown, AppPayloadExceeded, AppPayloadExceeded}
	for i, w := range want {
		it, _ := v.Item(uint32(i))
		if it.Status != w || it.PID != pids[i] {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	// Not even the first answer fits: OVERSIZED_ITEM, then the rest as answers.
	b = NewAppsLookupReplyBuilder(make([]byte, 16+24+64+64+63), &req, 5)
	b.Add(known(1), nil)
	if b.Exceeded() {
		t.Fatal("an oversized first item is final, not a tail")
	}
	// A wrong echo is a sticky argument error.
	b = NewAppsLookupReplyBuilder(make([]byte, 1024), &req, 5)
	if err := b.Add(known(9), nil); !errors.Is(err, netipc.ErrBadField) {
		t.Fatal(err)
	}
	if _, err := b.Finish(); !errors.Is(err, netipc.ErrBadField) {
		t.Fatal(err)
	}
	// Below the minimal answers: overflow from the start.
	b = NewAppsLookupReplyBuilder(make([]byte, 100), &req, 5)
	if n, err := b.Finish(); !errors.Is(err, netipc.ErrBufferTooSmall) || n != 16+24+64+64+63 {
		t.Fatalf("%d %v", n, err)
	}
}
