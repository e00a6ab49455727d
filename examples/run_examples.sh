#!/usr/bin/env bash
# Runs the getting-started programs end to end: the consumer starts first
# (no provider: NOT_FOUND is normal), the provider appears, the consumer
# finds the cgroup, the provider stops and leaves no file behind.
#   run_examples.sh <dir with example_provider and example_consumer>
set -euo pipefail
bin=$1
run=$(mktemp -d)
log=$run.provider.log
prov=
trap '[ -n "$prov" ] && kill $prov 2>/dev/null; rm -rf "$run" "$log"' EXIT

out=$("$bin/example_consumer" "$run" 2 || true)
echo "$out"
grep -q "no data yet" <<<"$out"

"$bin/example_provider" "$run" > "$log" &
prov=$!
for _ in $(seq 100); do [ -S "$run/cgroups-snapshot.sock" ] && break; sleep 0.05; done
out=$("$bin/example_consumer" "$run" 3)
echo "$out"
grep -q "system.slice/nginx.service -> /sys/fs/cgroup/system.slice/nginx.service" <<<"$out"

kill -TERM $prov
wait $prov
prov=
cat "$log"
grep -q "provider: stopped" "$log"
left=$(ls -A "$run" | wc -l)
[ "$left" -eq 0 ] || { echo "files left behind: $(ls -A "$run")"; exit 1; }
echo "examples: ok"
