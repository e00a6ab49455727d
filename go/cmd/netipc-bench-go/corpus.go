//go:build linux

package main

import "fmt"

// The benchmark corpus, item for item the C library's test corpus
// (src/corpus/corpus.c): deterministic cgroup names and paths, so that Go
// and C roles of one benchmark row serve and ask for the same data.

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

var (
	corpusServices = []string{"nginx", "postgresql", "redis-server", "sshd", "cron", "rsyslog",
		"containerd", "docker", "kubelet", "netdata", "chronyd", "dbus",
		"systemd-journald", "systemd-logind", "mysql", "haproxy", "memcached", "php-fpm",
		"getty", "openvpn", "node-exporter", "grafana", "prometheus", "elasticsearch"}
	corpusApps = []string{"firefox", "code", "gnome-terminal", "slack", "chromium", "thunderbird"}
	corpusVMs  = []string{"web01", "db-primary", "build-agent", "win11", "ci-runner"}
)

type corpusItem struct {
	name, path       []byte
	hash             uint32
	options, enabled uint32
}

func containerID(key uint64) string {
	v := mix64(key)
	s := ""
	for part := 0; part < 4; part++ {
		s += fmt.Sprintf("%016x", v)
		v = mix64(v)
	}
	return s
}

func podUID(key uint64) string {
	a := mix64(key ^ 0x5bd1e995)
	b := mix64(a)
	return fmt.Sprintf("%08x_%04x_%04x_%04x_%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func djb2(s []byte) uint32 {
	h := uint32(5381)
	for _, c := range s {
		h = h*33 + uint32(c)
	}
	return h
}

func corpusEntry(seed uint64, index uint32) corpusItem {
	key := mix64(seed) + uint64(index)
	r := mix64(key ^ 0xc2b2ae3d27d4eb4f)
	kind := uint32(r % 100)
	pick := uint32((r >> 8) & 0xffff)
	var name string
	switch {
	case kind < 30:
		svc := corpusServices[pick%uint32(len(corpusServices))]
		name = fmt.Sprintf("system.slice/system-%s.slice/%s@%d.service", svc, svc, index)
	case kind < 50:
		name = fmt.Sprintf("system.slice/docker-%s.scope", containerID(key))
	case kind < 55:
		name = fmt.Sprintf("machine.slice/libpod-%s.scope", containerID(key))
	case kind < 80:
		q := []string{"besteffort", "burstable", ""}[pick%3]
		id, uid := containerID(key), podUID(key)
		if q != "" {
			name = fmt.Sprintf("kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice/cri-containerd-%s.scope", q, q, uid, id)
		} else {
			name = fmt.Sprintf("kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope", uid, id)
		}
	case kind < 92:
		user := 1000 + pick%50
		name = fmt.Sprintf("user.slice/user-%d.slice/user@%d.service/app.slice/app-%s-%d.scope", user, user,
			corpusApps[pick%uint32(len(corpusApps))], index)
	default:
		name = fmt.Sprintf(`machine.slice/machine-qemu\x2d%d\x2d%s.scope`, index, corpusVMs[pick%uint32(len(corpusVMs))])
	}
	it := corpusItem{name: []byte(name), path: []byte("/sys/fs/cgroup/" + name)}
	it.hash = djb2(it.name)
	if (r>>40)%4 == 0 {
		it.options = 0x02
	}
	if (r>>48)%10 != 0 {
		it.enabled = 1
	}
	return it
}

func corpus(count uint32) []corpusItem {
	items := make([]corpusItem, count)
	for i := range items {
		items[i] = corpusEntry(benchCorpusSeed, uint32(i))
	}
	return items
}
