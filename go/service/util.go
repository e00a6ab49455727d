package service

import (
	"sync/atomic"
	"time"
)

// idleSlice is how often an idle session checks whether the server stops.
const idleSlice = 100 * time.Millisecond

func nowPlus(d time.Duration) time.Time { return time.Now().Add(d) }

func atomicAdd(p *uint64) { atomic.AddUint64(p, 1) }
