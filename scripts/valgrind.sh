#!/usr/bin/env bash
# Valgrind memcheck over the tests labelled `memcheck` in a build directory
# (make test: the gcc build, reused). Each test runs with its registered
# arguments; peers are re-executed test binaries, traced with
# --trace-children=yes, so providers and clients are checked too.
#   scripts/valgrind.sh BUILD_DIR [LABEL]
# Gate: any memcheck error or any definite / indirect leak fails the test
# (exit 99 from valgrind, also inside a peer, which the test then reports).
# NETIPC_TEST_SLOW=1 tells the tests to widen their timing windows
# (tests/test.h); suppressions, each with its reason, are in
# tests/sanitizers/valgrind.supp. JOBS tests run at a time (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: valgrind.sh BUILD_DIR [LABEL]}
label=${2:-memcheck}
jobs=${JOBS:-2}
logs=$build/logs/valgrind
rm -rf "$logs"
mkdir -p "$logs"
export NETIPC_TEST_SLOW=${NETIPC_TEST_SLOW:-1}

# --fair-sched=yes: valgrind runs one thread at a time, and its default lock
# lets threads that compute keep it. A thread back from a blocking system
# call then waits for seconds: in test_cache, four reader threads in tight
# lookup loops held a refresh's snapshot call (answered by the provider in
# milliseconds) for up to 6 s, past its 5 s timeout. Natively, eight such
# readers delay a refresh by 27 ms at most. Fair scheduling hands the lock
# over in turn, as the kernel does (with it: slowest refresh 35 ms).
# --vex-iropt-register-updates=allregs-at-mem-access: netipc recovers from a
# SIGBUS in a truncated shared-memory region by mapping zero pages and
# returning from its handler, so the access is retried. By default valgrind
# keeps guest registers exact only at block boundaries, and the retried
# access resumed with stale registers (a SIGSEGV at a small address in
# test_shm_hostile); this makes them exact at every memory access.
vg=(valgrind -q --fair-sched=yes --vex-iropt-register-updates=allregs-at-mem-access
    --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
    --trace-children=yes --suppressions="$PWD/tests/sanitizers/valgrind.supp")

# name <TAB> timeout <TAB> working dir <TAB> shell-quoted command, per test.
list=$(ctest --test-dir "$build" -L "$label" --show-only=json-v1 | python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    p = {x["name"]: x["value"] for x in t.get("properties", [])}
    print("\t".join([t["name"], str(int(p.get("TIMEOUT", 60))),
                     p.get("WORKING_DIRECTORY", "."), shlex.join(t["command"])]))')
[[ -n $list ]] || { echo "valgrind: no tests labelled $label in $build" >&2; exit 1; }

run_one() {
  local name=$1 timeout=$2 wd=$3 cmd=$4 t0=$SECONDS rc=0
  # Valgrind is ~10-30x slower: the registered timeout times 10.
  (cd "$wd" && eval "timeout -k 10 $((timeout * 10)) ${vg[*]@Q} $cmd") \
    >"$logs/$name.log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "valgrind ok     $name ($((SECONDS - t0)) s)"
  else
    echo "valgrind FAILED $name (exit $rc, $((SECONDS - t0)) s); log: $logs/$name.log"
    tail -n 60 "$logs/$name.log"
    return 1
  fi
}

failed=0 running=0
while IFS=$'\t' read -r name timeout wd cmd; do
  if [[ $running -ge $jobs ]]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$name" "$timeout" "$wd" "$cmd" &
  running=$((running + 1))
done <<<"$list"
while [[ $running -gt 0 ]]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit $failed
