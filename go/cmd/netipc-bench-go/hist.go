//go:build linux

package main

import "math/bits"

// The C driver's log-linear latency histogram (bench/netipc_bench.c), so
// Go rows report percentiles computed exactly as the C rows are: exact
// below 64 ns, then 64 sub-buckets per power of two.

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = histSub + (64-histSubBits)*histSub
)

type hist struct {
	count, max uint64
	buckets    [histBuckets]uint64
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v)
	sub := int(v>>(uint(e)-histSubBits)) & (histSub - 1)
	return histSub + (e-histSubBits)*histSub + sub
}

func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := (i-histSub)/histSub + histSubBits
	sub := uint64((i - histSub) % histSub)
	width := uint64(1) << uint(e-histSubBits)
	return (uint64(1) << uint(e)) + sub*width + width/2
}

func (h *hist) add(ns uint64) {
	h.buckets[histIndex(ns)]++
	h.count++
	if ns > h.max {
		h.max = ns
	}
}

func (h *hist) percentile(p float64) uint64 {
	if h.count == 0 {
		return 0
	}
	rank := uint64(p/100*float64(h.count) + 0.5)
	if rank < 1 {
		rank = 1
	}
	seen := uint64(0)
	for i := range h.buckets {
		seen += h.buckets[i]
		if seen >= rank {
			if v := histValue(i); v < h.max {
				return v
			}
			return h.max
		}
	}
	return h.max
}
