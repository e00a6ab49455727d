#!/usr/bin/env bash
# Runs the getting-started programs end to end:
#  - the cache consumer starts first (no provider: NOT_FOUND is normal), the
#    provider appears, the consumer finds the cgroup, the one-shot client
#    lists the snapshot, the provider stops and leaves no file behind;
#  - the apps-lookup consumer against the apps-lookup provider, and the
#    cgroups-lookup consumer against `netipc serve cgroups-lookup` on a small
#    tree, each printing exactly the output shown on the page.
#   run_examples.sh SOURCE_DIR EXAMPLES_BIN_DIR TOOL
set -euo pipefail
src=$1
bin=$2
tool=$3
run=$(mktemp -d)
log=$run.log
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$run" "$log"' EXIT
fail() { echo "examples: $*"; exit 1; }
wait_socket() { for _ in $(seq 200); do [ -S "$run/$1.sock" ] && return; sleep 0.05; done; fail "no $1.sock"; }
# Stops the last started server and checks that it said why it stopped.
stop_last() {
  kill -TERM "${pids[-1]}"
  wait "${pids[-1]}" || fail "server exited with $?"
  unset 'pids[-1]'
}

out=$("$bin/example_consumer" "$run" 2 || true)
echo "$out"
grep -q "refresh failed (NOT_FOUND); no data yet" <<<"$out" || fail "consumer without provider"
out=$("$bin/example_client" "$run" 2>&1) && fail "client without provider succeeded"
grep -q "no provider" <<<"$out" || fail "client without provider: $out"

"$bin/example_provider" "$run" > "$log" &
pids+=($!)
wait_socket cgroups-snapshot
out=$("$bin/example_consumer" "$run" 3)
echo "$out"
grep -q "system.slice/nginx.service -> /sys/fs/cgroup/system.slice/nginx.service" <<<"$out" \
  || fail "consumer did not find the cgroup"
out=$("$bin/example_client" "$run")
echo "$out"
[ "$(wc -l <<<"$out")" -eq 4 ] && grep -qx "/sys/fs/cgroup/init.scope" <<<"$out" \
  || fail "client listed the wrong snapshot"
stop_last
cat "$log"
grep -q "provider: stopped" "$log" || fail "provider did not stop cleanly"

# Output on the page == output of the program.
"$bin/example_apps_provider" "$run" > "$log" &
pids+=($!)
wait_socket apps-lookup
diff <("$bin/example_apps_consumer" "$run") <(bash "$src/examples/check_docs.sh" "$src" \
  --output example_apps_consumer) || fail "apps consumer output differs from the page"
stop_last

mkdir -p "$run.tree/system.slice/nginx.service"
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$run" "$log" "$run.tree"' EXIT
"$tool" --run-dir "$run" serve cgroups-lookup --cgroup-root "$run.tree" > "$log" 2>&1 &
pids+=($!)
wait_socket cgroups-lookup
diff <("$bin/example_cgroups_lookup" "$run" /system.slice/nginx.service /gone.scope) \
  <(bash "$src/examples/check_docs.sh" "$src" --output example_cgroups_lookup) \
  || fail "cgroups lookup output differs from the page"
stop_last

left=$(ls -A "$run" | wc -l)
[ "$left" -eq 0 ] || fail "files left behind: $(ls -A "$run")"
echo "examples: ok"
