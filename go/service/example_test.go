package service_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	netipc "github.com/netdata/netipc/go"
	"github.com/netdata/netipc/go/codec"
	"github.com/netdata/netipc/go/protocol"
	"github.com/netdata/netipc/go/service"
)

// A provider: serve the cgroups snapshot until the process ends.
func ExampleNewCgroupsSnapshotServer() {
	srv, err := service.NewCgroupsSnapshotServer("/run/netdata", "cgroups-snapshot",
		&service.ServerConfig{SupportedProfiles: protocol.ProfileBaseline | protocol.ProfileSHMHybrid, AuthToken: 42},
		func(buf []byte) (int, error) {
			b := codec.NewCgroupsBuilder(buf, 1, 1, 7)
			name := []byte("system.slice")
			b.Add(codec.Djb2(name), 0, 1, name, []byte("/sys/fs/cgroup/system.slice"))
			return b.Finish() // ErrBufferTooSmall tells the client to grow
		})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Serve(context.Background()); err != nil {
		log.Print(err)
	}
}

// A consumer: refresh from its own loop, call when ready.
func ExampleClient_CgroupsSnapshot() {
	c, err := service.NewClient("/run/netdata", "cgroups-snapshot",
		&service.ClientConfig{SupportedProfiles: protocol.ProfileBaseline | protocol.ProfileSHMHybrid, AuthToken: 42})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for range time.Tick(time.Second) {
		if err := c.Refresh(context.Background()); errors.Is(err, netipc.ErrNotFound) {
			continue // no provider yet: a normal state
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := c.CgroupsSnapshot(ctx)
		cancel()
		if err != nil {
			log.Print(err)
			continue
		}
		for i := uint32(0); i < v.ItemCount; i++ {
			it, _ := v.Item(i) // views: valid until the next call on c
			fmt.Printf("%s %s\n", it.Name, it.Path)
		}
	}
}

// A lookup: one logical call for many keys, answers in request order.
func ExampleClient_CgroupsLookup() {
	c, _ := service.NewClient("/run/netdata", "cgroups-lookup", nil)
	defer c.Close()
	if err := c.Refresh(context.Background()); err != nil {
		return
	}
	v, err := c.CgroupsLookup(context.Background(), [][]byte{[]byte("/system.slice/nginx.service")})
	if errors.Is(err, netipc.ErrGenerationChanged) {
		return // the provider's data changed between parts: call again
	}
	if err == nil {
		it, _ := v.Item(0)
		fmt.Println(codec.CgroupLookupStatusName(it.Status), string(it.Name))
	}
}
