package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/netdata/netipc/go/cache"
	"github.com/netdata/netipc/go/codec"
)

// A collector keeps a local copy of the cgroups snapshot, refreshed from
// its own loop, and looks cgroups up without any I/O.
func ExampleCgroupsCache() {
	c, err := cache.New("/run/netdata", "cgroups-snapshot", nil)
	if err != nil {
		return
	}
	defer c.Close()
	for range time.Tick(time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.Refresh(ctx) // on failure the previous snapshot stays in use
		cancel()
		name := "system.slice"
		if it, ok := c.Lookup(codec.Djb2([]byte(name)), name); ok {
			fmt.Println(it.Path, it.Enabled)
		}
	}
}
