#!/usr/bin/env bash
# The netipc tool's lookup services end to end: `serve apps-lookup` answers
# this shell's own PID from /proc and a missing PID as UNKNOWN;
# `serve cgroups-lookup --corpus N` knows every path that
# `serve cgroups-snapshot --corpus N` lists (same tree, two services), with
# orchestrators guessed from the paths, and nothing else; providers leave no
# file behind.
#   lookup_tool.sh <path to netipc>
set -euo pipefail
bin=$1
run=$(mktemp -d)
logs=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$run" "$logs"
}
trap cleanup EXIT

# start <kind> [options]: a provider named after its kind, READY awaited.
start() {
    "$bin" --run-dir "$run" serve "$@" >"$logs/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 200); do
        grep -q READY "$logs/$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "provider $1 did not start"; cat "$logs/$1.log"; exit 1
}
call() { "$bin" --run-dir "$run" call "$@"; }

start apps-lookup
out=$(call apps-lookup $$ 4000000000 --profile uds)
echo "$out"
grep -q "^generation [0-9]*, 2 items$" <<<"$out"
grep -Eq "^  pid $$: KNOWN comm=bash ppid=$PPID uid=$(id -u) starttime=[0-9]+ cgroup=" <<<"$out"
grep -q "^  pid 4000000000: UNKNOWN$" <<<"$out"
out=$(call apps-lookup $$ --count 200 --profile shm)
echo "$out"
grep -q "^200 calls over SHM" <<<"$out"

start cgroups-snapshot --corpus 40 --rescan 0
start cgroups-lookup --corpus 40 --rescan 0
mapfile -t paths < <(call cgroups-snapshot --limit 0 | awk 'NF == 3 && $1 ~ /^[0-9a-f]+$/ {print $3}')
[ "${#paths[@]}" -eq 40 ] || { echo "expected 40 paths, got ${#paths[@]}"; exit 1; }
out=$(call cgroups-lookup "${paths[@]}" /no/such/cgroup)
grep -q "^generation 1, 41 items$" <<<"$out"
[ "$(grep -c ': KNOWN orchestrator=' <<<"$out")" -eq 40 ]
grep -q "^  /no/such/cgroup: UNKNOWN_PERMANENT$" <<<"$out"
grep -q "docker-[0-9a-f]*.scope: KNOWN orchestrator=DOCKER name=docker-" <<<"$out"
grep -q "cri-containerd-[0-9a-f]*.scope: KNOWN orchestrator=K8S .* kind=scope" <<<"$out"
# relative to the root, as in /proc/<pid>/cgroup
rel=${paths[0]#/sys/fs/cgroup}
call cgroups-lookup "$rel" | grep -qF "  $rel: KNOWN"
echo "$out" | head -5

for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
left=$(ls -A "$run" | wc -l)
[ "$left" -eq 0 ] || { echo "files left behind: $(ls -A "$run")"; exit 1; }
echo "lookup tool: ok"
