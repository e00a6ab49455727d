#!/usr/bin/env bash
# make test-load: the chaos, stress and service suites while CPU hogs keep
# every core busy, several runs in a row. Their time bounds come from the
# library's documented timeouts (tests/bounds.h), so a busy machine must not
# make them fail.
#   RUNS            runs in a row, all must pass (default 3)
#   JOBS            ctest parallelism (default 2)
#   NETIPC_CHAOS_SECONDS / NETIPC_STRESS_SECONDS  suite budgets (defaults 40 / 20)
#   LOAD_BUILD      build dir to use (default build/gcc, built if needed)
# The hogs are plain shell busy loops, one per core, at the tests' own
# priority: no package needed, and gone when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
jobs=${JOBS:-2}
build=${LOAD_BUILD:-build/gcc}

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -G "Unix Makefiles" -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$jobs" --target test_chaos test_stress test_service >/dev/null

hogs=()
stop_hogs() {
  local p
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_hogs EXIT
cores=$(nproc)
for ((i = 0; i < cores; i++)); do
  bash -c 'while :; do :; done' &
  hogs+=($!)
done

for ((run = 1; run <= runs; run++)); do
  t0=$(date +%s)
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ctest --test-dir "$build" -j"$jobs" --output-on-failure \
      -R '^(test_chaos|test_stress|test_service)$' >"$build/load-run-$run.log" 2>&1; then
    echo "load run $run/$runs: ok ($(( $(date +%s) - t0 )) s, $cores hogs, load average $load at start)"
  else
    echo "load run $run/$runs: FAILED ($(( $(date +%s) - t0 )) s); log: $build/load-run-$run.log"
    tail -n 60 "$build/load-run-$run.log"
    exit 1
  fi
done
