// Package interop holds the deterministic data and handlers that the Go
// side of the cross-language matrix shares with the C peer
// (tests/interop/c_peer.c): both compute the same snapshot, lookup answers
// and checks, so either language can serve the other.
//
// A snapshot item i is cg-<i> (hash djb2(name), options i, enabled i%2,
// path /sys/fs/cgroup/cg-<i>; systemd 1, generation 77). A lookup path
// answers KNOWN / DOCKER with its last component as name and one label
// k=<path>, or UNKNOWN_PERMANENT under /gone (generation 5). A pid answers
// KNOWN p<pid> (ppid 1, uid 1000, starttime pid*10, /a/b, b) or UNKNOWN
// when pid % 7 == 0 (generation 6).
package interop

import (
	"bytes"
	"fmt"
	"strconv"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/service"
)

// Increment answers value + 1.
func Increment(v uint64) (uint64, error) { return v + 1, nil }

// Reverse writes in reversed.
func Reverse(in, out []byte) (int, error) {
	if len(in) > len(out) {
		return 0, netipc.ErrBufferTooSmall
	}
	for i, c := range in {
		out[len(in)-1-i] = c
	}
	return len(in), nil
}

// SnapshotName and SnapshotPath are item i's strings.
func SnapshotName(i int) string { return "cg-" + strconv.Itoa(i) }

// SnapshotPath is item i's path.
func SnapshotPath(i int) string { return "/sys/fs/cgroup/cg-" + strconv.Itoa(i) }

// Snapshot returns a handler serving n items.
func Snapshot(n int) service.CgroupsSnapshotHandler {
	names := make([][]byte, n)
	paths := make([][]byte, n)
	for i := range names {
		names[i], paths[i] = []byte(SnapshotName(i)), []byte(SnapshotPath(i))
	}
	return func(buf []byte) (int, error) {
		b := codec.NewCgroupsBuilder(buf, uint32(n), 1, 77)
		for i := 0; i < n; i++ {
			b.Add(codec.Djb2(names[i]), uint32(i), uint32(i%2), names[i], paths[i])
		}
		return b.Finish()
	}
}

var (
	gonePrefix = []byte("/gone")
	labelK     = []byte("k")
	pathAB     = []byte("/a/b")
	nameB      = []byte("b")
)

// LastComponent is what follows the last '/'.
func LastComponent(p []byte) []byte { return p[bytes.LastIndexByte(p, '/')+1:] }

// IsGone reports a path the provider does not know.
func IsGone(p []byte) bool { return bytes.HasPrefix(p, gonePrefix) }

// CgroupsLookup answers every key (see the package comment).
func CgroupsLookup(req *codec.CgroupsLookupRequest, b *codec.CgroupsLookupBuilder) error {
	b.SetGeneration(5)
	var it codec.CgroupsLookupItem
	var labels [1]codec.Label
	for i := uint32(0); i < req.ItemCount; i++ {
		key := req.Key(i)
		if IsGone(key) {
			it = codec.CgroupsLookupItem{Status: codec.CgroupUnknownPermanent, Path: key}
		} else {
			it = codec.CgroupsLookupItem{Status: codec.CgroupKnown, Orchestrator: codec.OrchDocker, Path: key,
				Name: LastComponent(key), Labels: codec.Labels{Count: 1}}
		}
		labels[0] = codec.Label{Key: labelK, Value: key}
		b.Add(&it, labels[:])
	}
	return nil
}

// AppsLookup answers every pid (see the package comment).
func AppsLookup(req *codec.AppsLookupRequest, b *codec.AppsLookupBuilder) error {
	b.SetGeneration(6)
	var comm [16]byte
	var it codec.AppsLookupItem
	for i := uint32(0); i < req.ItemCount; i++ {
		pid := req.PID(i)
		if pid%7 == 0 {
			it = codec.AppsLookupItem{Status: codec.AppUnknown, PID: pid, UID: codec.UIDUnset}
		} else {
			c := append(append(comm[:0], 'p'), strconv.FormatUint(uint64(pid), 10)...)
			it = codec.AppsLookupItem{Status: codec.AppKnown, PID: pid, PPID: 1, UID: 1000, Starttime: uint64(pid) * 10,
				Comm: c, CgroupPath: pathAB, CgroupName: nameB}
		}
		b.Add(&it, nil)
	}
	return nil
}

// LookupPaths are the n keys a lookup scenario asks for.
func LookupPaths(n int) [][]byte {
	paths := make([][]byte, n)
	for i := range paths {
		if i%10 == 3 {
			paths[i] = []byte(fmt.Sprintf("/gone/unit-%d", i))
		} else {
			paths[i] = []byte(fmt.Sprintf("/system.slice/unit-%d.service", i))
		}
	}
	return paths
}

// LookupPIDs are the n pids a lookup scenario asks for.
func LookupPIDs(n int) []uint32 {
	pids := make([]uint32, n)
	for i := range pids {
		pids[i] = uint32(1000 + i)
	}
	return pids
}

// CheckSnapshot verifies a snapshot of n items.
func CheckSnapshot(v codec.CgroupsView, n int) error {
	if v.ItemCount != uint32(n) || v.Generation != 77 || v.SystemdEnabled != 1 {
		return fmt.Errorf("snapshot header: %d items, generation %d", v.ItemCount, v.Generation)
	}
	for i := 0; i < n; i++ {
		it, err := v.Item(uint32(i))
		name := SnapshotName(i)
		if err != nil || string(it.Name) != name || string(it.Path) != SnapshotPath(i) ||
			it.Hash != codec.Djb2([]byte(name)) || it.Options != uint32(i) || it.Enabled != uint32(i%2) {
			return fmt.Errorf("snapshot item %d: %v %+v", i, err, it)
		}
	}
	return nil
}

// CheckCgroupsLookup verifies the answers to paths.
func CheckCgroupsLookup(v codec.CgroupsLookupView, paths [][]byte) error {
	if v.ItemCount != uint32(len(paths)) || v.Generation != 5 {
		return fmt.Errorf("lookup header: %d items, generation %d", v.ItemCount, v.Generation)
	}
	for i, p := range paths {
		it, err := v.Item(uint32(i))
		if err != nil || !bytes.Equal(it.Path, p) {
			return fmt.Errorf("lookup item %d: %v", i, err)
		}
		if IsGone(p) {
			if it.Status != codec.CgroupUnknownPermanent {
				return fmt.Errorf("lookup item %d: status %d", i, it.Status)
			}
			continue
		}
		l, err := it.Labels.At(0)
		if it.Status != codec.CgroupKnown || it.Orchestrator != codec.OrchDocker || !bytes.Equal(it.Name, LastComponent(p)) ||
			it.Labels.Count != 1 || err != nil || string(l.Key) != "k" || !bytes.Equal(l.Value, p) {
			return fmt.Errorf("lookup item %d: %+v", i, it)
		}
	}
	return nil
}

// CheckAppsLookup verifies the answers to pids.
func CheckAppsLookup(v codec.AppsLookupView, pids []uint32) error {
	if v.ItemCount != uint32(len(pids)) || v.Generation != 6 {
		return fmt.Errorf("apps header: %d items, generation %d", v.ItemCount, v.Generation)
	}
	for i, pid := range pids {
		it, err := v.Item(uint32(i))
		if err != nil || it.PID != pid {
			return fmt.Errorf("apps item %d: %v", i, err)
		}
		if pid%7 == 0 {
			if it.Status != codec.AppUnknown {
				return fmt.Errorf("apps item %d: status %d", i, it.Status)
			}
			continue
		}
		if it.Status != codec.AppKnown || string(it.Comm) != fmt.Sprintf("p%d", pid) || it.Starttime != uint64(pid)*10 ||
			it.UID != 1000 || string(it.CgroupPath) != "/a/b" || string(it.CgroupName) != "b" {
			return fmt.Errorf("apps item %d: %+v", i, it)
		}
	}
	return nil
}
