//go:build linux

package main

import (
	"crypto/md5"
	"fmt"
	"testing"
)

// The Go corpus must be the C corpus item for item: both roles of a mixed
// row serve and ask for the same cgroups. The digest is that of the C
// library's corpus (seed 1, 1,000 items), one "path hash options enabled"
// line per item, as printed by a program around nipc_corpus_item().
func TestCorpusMatchesC(t *testing.T) {
	h := md5.New()
	for _, it := range corpus(1000) {
		fmt.Fprintf(h, "%s %d %d %d\n", it.path, it.hash, it.options, it.enabled)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != "c56ef4be53941c805c4425c959f31de7" {
		t.Fatalf("corpus digest %s", got)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h hist
	for v := uint64(1); v <= 1000; v++ {
		h.add(v * 100)
	}
	p50, p99 := h.percentile(50), h.percentile(99)
	if p50 < 49000 || p50 > 51000 || p99 < 97500 || p99 > 100000 || h.max != 100000 {
		t.Fatalf("p50 %d p99 %d max %d", p50, p99, h.max)
	}
}
