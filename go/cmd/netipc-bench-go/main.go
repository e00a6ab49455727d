//go:build linux

// Command netipc-bench-go is the Go side of the benchmark suite
// (bench/, docs/benchmarks.md). The C runner (netipc_bench run) starts it
// for the server or client role of the Go rows, with the same line protocol
// as its own roles:
//
//	netipc-bench-go server SCENARIO RUN_DIR
//	    prints "ready"; "mark" snapshots CPU time, allocations and requests
//	    ("marked"); "stop" prints "result key=value ..." for the window
//	    since "mark" and exits.
//	netipc-bench-go client SCENARIO RUN_DIR SECONDS RATE WARM_SECONDS
//	    connects, warms up, prints "warm", waits for "go", runs the timed
//	    loop and prints "result key=value ...".
//
// Row names: go-<row> is a Go client and a Go server, go2c-<row> a Go
// client and a C server, c2go-<row> a C client and a Go server, where <row>
// is one of the C library rows it is compared with (uds-ping-pong ...).
// Allocations are the Go runtime's heap allocation count (MemStats.Mallocs)
// over the window, the counterpart of the C driver's malloc counter.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	benchAuthToken     = 0xBE4C400000C0FFEE
	benchBatchItems    = 1000
	benchPipelineDepth = 16
	benchService       = "bench"
	benchCorpusSeed    = 1
	snapshotGeneration = 7
	lookupTable        = 1000
	lookupBudget       = 1 << 20
	lookupPIDBase      = 1000
	lookupPIDStep      = 7
	connectWait        = 5 * time.Second
	callTimeout        = 10 * time.Second
)

// scenario is what a row needs from this binary.
type scenario struct {
	name     string
	method   string // increment, snapshot, cgroups-lookup, apps-lookup
	shm      bool
	items    uint32 // items per request
	param    uint32 // snapshot items
	pipeline bool
}

// Rows this binary knows, by their C counterpart's name.
var rows = []scenario{
	{name: "uds-ping-pong", method: "increment", items: 1},
	{name: "shm-ping-pong", method: "increment", shm: true, items: 1},
	{name: "uds-batch", method: "increment", items: benchBatchItems},
	{name: "shm-batch", method: "increment", shm: true, items: benchBatchItems},
	{name: "uds-pipeline-d16", method: "increment", items: 1, pipeline: true},
	{name: "uds-snapshot-1000", method: "snapshot", items: 1, param: 1000},
	{name: "shm-snapshot-1000", method: "snapshot", shm: true, items: 1, param: 1000},
	{name: "uds-cgroups-lookup-1000", method: "cgroups-lookup", items: 1000},
	{name: "shm-cgroups-lookup-1000", method: "cgroups-lookup", shm: true, items: 1000},
	{name: "uds-apps-lookup-1000", method: "apps-lookup", items: 1000},
	{name: "shm-apps-lookup-1000", method: "apps-lookup", shm: true, items: 1000},
}

func find(name string) (scenario, bool) {
	for _, p := range []string{"go-", "go2c-", "c2go-"} {
		if base := strings.TrimPrefix(name, p); base != name {
			for _, r := range rows {
				if r.name == base {
					r.name = name
					return r, true
				}
			}
		}
	}
	return scenario{}, false
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "netipc-bench-go: "+format+"\n", a...)
	os.Exit(1)
}

func say(s string) { fmt.Println(s) }

type usage struct {
	cpuNS, sleeps uint64
	rssKB         int64
}

func rusage() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return usage{cpuNS: uint64(ru.Utime.Nano() + ru.Stime.Nano()), sleeps: uint64(ru.Nvcsw), rssKB: int64(ru.Maxrss)}
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "list" {
		for _, p := range []string{"go-", "go2c-", "c2go-"} {
			for _, r := range rows {
				fmt.Println(p + r.name)
			}
		}
		return
	}
	if len(os.Args) < 4 {
		fail("usage: netipc-bench-go server|client SCENARIO RUN_DIR [SECONDS RATE WARM]")
	}
	sc, ok := find(os.Args[2])
	if !ok {
		fail("unknown scenario %s", os.Args[2])
	}
	in := bufio.NewReader(os.Stdin)
	switch os.Args[1] {
	case "server":
		serverRole(sc, os.Args[3], in)
	case "client":
		if len(os.Args) < 7 {
			fail("client needs SECONDS RATE WARM")
		}
		secs, _ := strconv.ParseFloat(os.Args[4], 64)
		rate, _ := strconv.ParseUint(os.Args[5], 10, 64)
		warm, _ := strconv.ParseFloat(os.Args[6], 64)
		clientRole(sc, os.Args[3], secs, rate, warm, in)
	default:
		fail("unknown role %s", os.Args[1])
	}
}

var cmdBuf [64]byte

// command reads one line from stdin byte by byte into a fixed buffer, as
// the C driver does: nothing is allocated inside a measured window.
func command(in *bufio.Reader) ([]byte, bool) {
	_ = in
	n := 0
	for n < len(cmdBuf) {
		k, err := os.Stdin.Read(cmdBuf[n : n+1])
		if err != nil || k == 0 {
			return nil, false
		}
		if cmdBuf[n] == '\n' {
			break
		}
		n++
	}
	return cmdBuf[:n], true
}

var markedLine = []byte("marked\n")

func serverRole(sc scenario, dir string, in *bufio.Reader) {
	s := startServer(sc, dir)
	say("ready")
	var u0 usage
	var a0, r0 uint64
	for {
		cmd, ok := command(in)
		if !ok {
			os.Exit(1) // the runner went away
		}
		switch string(cmd) { // a conversion in a switch does not allocate
		case "mark":
			// Requests before the answer: once "marked" is out the client
			// may start, and its first requests belong to the window. CPU
			// and allocations after it: the write is not the server's work,
			// and a fmt call would allocate.
			r0 = s.Stats().Requests
			os.Stdout.Write(markedLine)
			u0, a0 = rusage(), mallocs()
		case "stop":
			u, a, r := rusage(), mallocs(), s.Stats().Requests
			s.Close()
			fmt.Printf("result server_cpu_ns=%d server_allocs=%d server_requests=%d server_rss_kb=%d server_sleeps=%d\n",
				u.cpuNS-u0.cpuNS, a-a0, r-r0, u.rssKB, u.sleeps-u0.sleeps)
			return
		}
	}
}

type loopResult struct {
	ops, elapsedNS uint64
	h              hist
}

func clientRole(sc scenario, dir string, secs float64, rate uint64, warm float64, in *bufio.Reader) {
	c := openClient(sc, dir)
	seq := uint64(1)
	var r loopResult
	if warm > 0 {
		runLoop(sc, c, &seq, warm, rate, &r)
	}
	say("warm")
	if cmd, ok := command(in); !ok || string(cmd) != "go" {
		os.Exit(1)
	}
	u0, a0 := rusage(), mallocs()
	runLoop(sc, c, &seq, secs, rate, &r)
	u, a := rusage(), mallocs()
	fmt.Printf("result ops=%d elapsed_ns=%d p50_ns=%d p95_ns=%d p99_ns=%d max_ns=%d client_cpu_ns=%d client_allocs=%d client_rss_kb=%d client_sleeps=%d\n",
		r.ops, r.elapsedNS, r.h.percentile(50), r.h.percentile(95), r.h.percentile(99), r.h.max,
		u.cpuNS-u0.cpuNS, a-a0, u.rssKB, u.sleeps-u0.sleeps)
	c.close()
}

func runLoop(sc scenario, c *client, seq *uint64, secs float64, rate uint64, r *loopResult) {
	r.h = hist{}
	r.ops, r.elapsedNS = 0, 0
	dur := time.Duration(secs * 1e9)
	if sc.pipeline {
		pipelineLoop(sc, c, seq, dur, r)
		return
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	start := time.Now()
	next, t1 := start, start
	for {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		t0 := time.Now()
		if err := c.call(*seq); err != nil {
			fail("%s: %v", sc.name, err)
		}
		*seq++
		t1 = time.Now()
		r.h.add(uint64(t1.Sub(t0)))
		r.ops++
		if t1.Sub(start) >= dur {
			break
		}
	}
	r.elapsedNS = uint64(t1.Sub(start))
}

// pipelineLoop keeps benchPipelineDepth requests in flight; the window is
// drained (not counted) at the end.
func pipelineLoop(sc scenario, c *client, seq *uint64, dur time.Duration, r *loopResult) {
	var sentAt [benchPipelineDepth]time.Time
	step := uint64(sc.items)
	start := time.Now()
	inFlight := 0
	for ; inFlight < benchPipelineDepth; inFlight++ {
		*seq += step
		sentAt[*seq/step%benchPipelineDepth] = time.Now()
		if err := c.send(*seq); err != nil {
			fail("%s: %v", sc.name, err)
		}
	}
	sending := true
	for inFlight > 0 {
		id, err := c.receive()
		if err != nil {
			fail("%s: %v", sc.name, err)
		}
		inFlight--
		if !sending {
			continue
		}
		t := time.Now()
		r.h.add(uint64(t.Sub(sentAt[id/step%benchPipelineDepth])))
		r.ops++
		if t.Sub(start) >= dur {
			sending = false
			r.elapsedNS = uint64(t.Sub(start))
			continue
		}
		*seq += step
		sentAt[*seq/step%benchPipelineDepth] = time.Now()
		if err := c.send(*seq); err != nil {
			fail("%s: %v", sc.name, err)
		}
		inFlight++
	}
}
