#!/usr/bin/env bash
# make test: install what is missing, then build and test every configuration.
#   builds   every build type (Debug, RelWithDebInfo, Release, MinSizeRel) with tests,
#            tools and the benchmark driver, under gcc and clang (compile only)
#   gcc      -Werror build, every suite (unit, interop, chaos, stress, bench smoke);
#            the benchmark driver without the ZeroMQ / nng rows, as a fresh machine builds it,
#            with the Rust rows (rust/bench, built by cargo offline)
#   load     chaos, stress and service suites with every core busy (scripts/test-load.sh,
#            one short run; make test-load runs three full ones)
#   asan     clang -Werror build with ASan+UBSan, every suite; zero sanitizer reports
#   tsan     clang build with TSan, every suite; zero reports
#   valgrind memcheck over the gcc build's unit, transport and service suites (label memcheck)
#   coverage gcc --coverage build, every suite, gcovr gate: >= 90 % lines overall and per file
#   clang    plain clang -Werror build (not in the default list: asan is a clang -Werror build)
#   fuzz    clang + libFuzzer, each target for a bounded time (label fuzz)
#   install install the gcc build and build a consumer through find_package and pkg-config
#   go      the Go implementation (go/): gofmt, go vet, go test -race with the cross-language
#           matrix against the C peer, the zero-allocation tests, every fuzz target briefly
#   windows mingw-w64 cross build, every registered suite run under wine (label windows and all),
#           then the Go Windows tests (GOOS=windows test binaries) against the C Windows peer
#   rust     the Rust crate (rust/) with Debian's toolchain, offline: fmt --check, clippy
#            -D warnings, cargo test (unit, Rust <-> C integration, doc tests), the
#            integration tests under ASan and under valgrind (scripts/rust.sh)
# Each step prints one line; logs of a failing step are printed in full.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build}
jobs=${JOBS:-2}
steps=${NETIPC_TEST_STEPS:-builds gcc load asan tsan valgrind coverage fuzz install go windows rust}

# go: the Go step, and the Go rows of the benchmark smoke test in step gcc.
bash scripts/install-deps.sh base test go

log_dir=$build/logs
mkdir -p "$log_dir"
start=$(date +%s)

run_step() {
  local name=$1; shift
  local log=$log_dir/$name.log t0=$(date +%s)
  printf '%-10s ' "$name"
  # A subshell: what a step exports (sanitizer options, budgets, WINEPREFIX)
  # stays in that step.
  if ( "$@" ) >"$log" 2>&1; then
    echo "ok ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAILED ($(( $(date +%s) - t0 )) s); log: $log"
    tail -n 80 "$log"
    exit 1
  fi
}

# Steps run as an `if` condition, where `set -e` does not apply: every
# command whose failure must fail the step says so (|| return 1).
configure_build() {
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G "Unix Makefiles" "$@" || return 1
  cmake --build "$dir" -j"$jobs"
}

# Every build type under both compilers builds warning-free with the tests:
# optimisation levels change what the compilers warn about (-O3 found a
# format-truncation that -O2 did not).
step_builds() {
  local cc type
  for cc in gcc clang; do
    for type in Debug RelWithDebInfo Release MinSizeRel; do
      echo "== $cc $type"
      configure_build "$build/builds/$cc-$type" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE="$type" -DNETIPC_BUILD_BENCH=ON -DNETIPC_BENCH_COMPARE=OFF || return 1
    done
  done
}

step_compiler() {
  local cc=$1
  # gcc also builds the benchmark driver, so its smoke test (label bench) runs
  # here. Without the comparison rows even where ZeroMQ / nng are installed:
  # that is the build a fresh machine gets (make bench installs and uses them).
  # gcc also builds the Rust rows (cargo, offline), so the smoke test runs them.
  local extra=()
  if [[ $cc == gcc ]]; then
    bash scripts/install-deps.sh rust || return 1
    extra+=(-DNETIPC_BUILD_BENCH=ON -DNETIPC_BENCH_COMPARE=OFF -DNETIPC_BENCH_RUST=ON)
  fi
  configure_build "$build/$cc" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "${extra[@]}" || return 1
  ctest --test-dir "$build/$cc" --output-on-failure -j"$jobs" -LE 'fuzz|slow'
}

# Sanitizer runtimes: every report goes to a log file under the build dir
# (peers are separate processes whose output a test may not show); the step
# fails when any report was written, even by a peer whose exit code nobody
# checked. Suppressions, each with its reason, live in tests/sanitizers/.
sanitizer_env() {
  local logs=$1 supp=$root/tests/sanitizers
  rm -rf "$logs"
  mkdir -p "$logs"
  export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:check_initialization_order=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp:print_suppressions=0"
  export TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp:print_suppressions=0"
}

# One exception, and only when it is all a file holds: LeakSanitizer checks
# for leaks as a process exits, stopping its threads with ptrace. test_chaos
# asks a provider to stop and SIGKILLs it up to 60 ms later, on purpose (a
# kill during a graceful stop); a kill that lands in that exit-time check
# leaves an empty file or the lone line "==N==Unable to get registers from
# thread M.". That is the kill, not a finding; any other line in the file
# still fails the step.
killed_leak_check() {
  ! grep -qvE '^==[0-9]+==Unable to get registers from thread [0-9]+\.$' "$1"
}

no_sanitizer_reports() {
  local logs=$1 f found=0
  for f in "$logs"/*; do
    [[ -e $f ]] || continue
    if killed_leak_check "$f"; then
      echo "ignored $f: a leak check cut short by a SIGKILL ($(wc -c <"$f") bytes)"
      continue
    fi
    (( found++ == 0 )) && echo "sanitizer reports in $logs:"
    echo "== $f"
    head -n 60 "$f"
  done
  return $(( found > 0 ))
}

# Chaos and stress run with shorter budgets in the slower instrumented
# builds; the gcc step runs their defaults (40 s and 20 s).
short_budgets() {
  export NETIPC_CHAOS_SECONDS=${NETIPC_CHAOS_SECONDS_INSTRUMENTED:-20}
  export NETIPC_STRESS_SECONDS=${NETIPC_STRESS_SECONDS_INSTRUMENTED:-10}
}

step_sanitizer() {
  local name=$1 sanitizer=$2
  configure_build "$build/$name" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNETIPC_SANITIZER="$sanitizer" || return 1
  local logs=$root/$build/$name/sanitizer-logs
  sanitizer_env "$logs"
  short_budgets
  local rc=0
  ctest --test-dir "$build/$name" --output-on-failure -j"$jobs" -LE 'fuzz|slow' || rc=1
  no_sanitizer_reports "$logs" || rc=1
  return $rc
}

# The gcc build's chaos, stress and service suites with every core busy: one
# short run (make test-load: three full ones).
step_load() {
  RUNS=1 JOBS=$jobs LOAD_BUILD=$build/gcc NETIPC_CHAOS_SECONDS=10 NETIPC_STRESS_SECONDS=5 \
    bash scripts/test-load.sh
}

# Reuses the gcc build (built again only if missing or stale).
step_valgrind() {
  configure_build "$build/gcc" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNETIPC_BUILD_BENCH=ON -DNETIPC_BENCH_COMPARE=OFF || return 1
  JOBS=$jobs bash scripts/valgrind.sh "$build/gcc" memcheck
}

step_coverage() {
  local dir=$build/coverage
  configure_build "$dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DNETIPC_COVERAGE=ON \
    || return 1
  find "$dir" -name '*.gcda' -delete
  short_budgets
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE 'fuzz|slow' || return 1
  bash scripts/coverage.sh "$dir" 90
}

step_fuzz() {
  configure_build "$build/fuzz" -DCMAKE_C_COMPILER=clang -DNETIPC_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
  ctest --test-dir "$build/fuzz" --output-on-failure -j"$jobs" -L fuzz
}

step_install() {
  local prefix=$root/$build/install
  rm -rf "$prefix"
  cmake --install "$build/gcc" --prefix "$prefix" || return 1
  bash tests/install/check.sh "$prefix" "$root/$build/consumer"
}

# Windows: cross-compile with mingw-w64 and let ctest run each .exe through
# wine (the toolchain file's CMAKE_CROSSCOMPILING_EMULATOR). The wine prefix
# lives in the build tree, so runs are isolated and repeatable. wine starts
# helper processes (services.exe, explorer.exe) on first use; started by a
# test they would inherit its stdout and keep ctest waiting, so a warm-up
# starts them first with a persistent wineserver (/work/shared/notes/wine.md).
# wineserver -k stops everything at the end, also after a failure.
step_windows() {
  bash scripts/install-deps.sh windows || return 1
  local dir=$build/windows rc=0
  configure_build "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64.cmake" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
  export WINEPREFIX=$root/$dir/wineprefix WINEDEBUG=-all
  mkdir -p "$WINEPREFIX"
  # Never a pipe as their output: these processes outlive the command.
  wineserver -p </dev/null >/dev/null 2>&1
  wine cmd /c ver </dev/null >"$dir/wine-ver.txt" 2>&1 || rc=1
  # Windows programs end lines with \r\n: strip it before using their output.
  echo "wine $(wine --version 2>/dev/null): $(tr -d '\r' <"$dir/wine-ver.txt" | grep -m1 -E 'Windows [0-9]' || true)"
  short_budgets # chaos and stress: every pipe call is a wineserver round trip
  [[ $rc -eq 0 ]] && ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE 'fuzz|slow' || rc=1
  [[ $rc -eq 0 ]] && { go_windows "$dir" || rc=1; }
  wineserver -k || true
  return $rc
}

# The Go Windows tests: GOOS=windows test binaries run under wine, the
# cross-language matrix against the C Windows peer (Named Pipe, SHM HYBRID,
# SHM BUSYWAIT). One binary per package, one after another (wine is slow to
# start, the matrix spawns many peers).
go_windows() {
  local dir=$1 out=$root/$1/go-tests pkg t0
  bash scripts/install-deps.sh go || return 1
  go_env
  cmake --build "$dir" -j"$jobs" --target netipc_c_peer >/dev/null || return 1
  mkdir -p "$out"
  export NETIPC_C_PEER
  NETIPC_C_PEER=$(winepath -w "$root/$dir/tests/interop/netipc_c_peer.exe" 2>/dev/null | tr -d '\r')
  t0=$(date +%s)
  for pkg in protocol codec transport service cache interop; do
    ( cd "$root/go" && GOOS=windows GOARCH=amd64 go test -c -o "$out/$pkg.test.exe" "./$pkg" ) || return 1
    # Windows programs end lines with \r\n; keep the log readable.
    if ! wine "$out/$pkg.test.exe" -test.count=1 -test.v </dev/null 2>&1 | tr -d '\r' \
        >"$out/$pkg.log"; then
      grep -E '^\s*(--- FAIL|FAIL|panic)|_test.go:' "$out/$pkg.log" | head -n 60
      return 1
    fi
    # wine's exit code is the program's; also refuse a run that passed nothing.
    grep -qE '^(PASS|ok)' "$out/$pkg.log" || { tail -n 40 "$out/$pkg.log"; return 1; }
    echo "go windows $pkg: $(grep -cE '^\s*--- PASS' "$out/$pkg.log") passed, $(grep -cE '^\s*--- SKIP' "$out/$pkg.log") skipped"
  done
  echo "go windows tests: $(( $(date +%s) - t0 )) s"
}

# Go: Debian's toolchain; caches and module path inside the build tree so a
# fresh machine needs nothing outside it. The module has no dependencies,
# so nothing is ever downloaded (GOPROXY=off makes sure of it).
go_env() {
  export GOCACHE=$root/$build/go/cache GOPATH=$root/$build/go/path GOPROXY=off GOFLAGS=-mod=mod \
    GOTOOLCHAIN=local CGO_ENABLED=0
  mkdir -p "$GOCACHE" "$GOPATH"
}

# Each fuzz target for GO_FUZZ_SECONDS (default 4): target package pairs.
go_fuzz_targets="FuzzHeader:protocol FuzzChunkHeader:protocol FuzzHello:protocol
  FuzzHelloAck:protocol FuzzHandshake:protocol FuzzBatch:protocol FuzzIncrement:codec
  FuzzStringReverse:codec FuzzCgroupsRequest:codec FuzzCgroupsResponse:codec
  FuzzCgroupsLookupRequest:codec FuzzAppsLookupRequest:codec FuzzCgroupsLookupResponse:codec
  FuzzAppsLookupResponse:codec"

step_go() {
  bash scripts/install-deps.sh go || return 1
  go_env
  echo "$(go version)"
  # The C peer of the cross-language matrix (the gcc build, also built by step gcc).
  cmake -S "$root" -B "$build/gcc" -G "Unix Makefiles" -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETIPC_BUILD_BENCH=ON >/dev/null || return 1
  cmake --build "$build/gcc" -j"$jobs" --target netipc_c_peer || return 1
  export NETIPC_C_PEER=$root/$build/gcc/tests/interop/netipc_c_peer
  cd "$root/go" || return 1
  local unformatted
  unformatted=$(gofmt -l .) || return 1
  [[ -z $unformatted ]] || { echo "gofmt: $unformatted"; return 1; }
  go vet ./... || return 1
  GOOS=windows go vet ./... || return 1 # the Windows files, checked here too
  # The race detector everywhere (the matrix included); then once without it
  # for the allocation counts, which the race detector's own allocations hide.
  # (the race runtime links through cgo; the module itself has no cgo code)
  CGO_ENABLED=1 go test -race -count=1 -p "$jobs" ./... || return 1
  go test -count=1 -run 'ZeroAllocs' -v ./... | grep -E '^(---|ok|FAIL|PASS)' || return 1
  local t
  for t in $go_fuzz_targets; do
    go test -run '^$' -fuzz "^${t%%:*}\$" -fuzztime "${GO_FUZZ_SECONDS:-4}s" -parallel "$jobs" \
      "./${t#*:}" >"$root/$log_dir/go-fuzz-${t%%:*}.log" 2>&1 \
      || { cat "$root/$log_dir/go-fuzz-${t%%:*}.log"; return 1; }
    echo "fuzz ${t%%:*}: $(grep -oE 'execs: [0-9]+' "$root/$log_dir/go-fuzz-${t%%:*}.log" | tail -1) ok"
  done
}

step_rust() {
  bash scripts/install-deps.sh rust || return 1
  JOBS=$jobs bash scripts/rust.sh "$build"
}

for s in $steps; do
  case $s in
    builds) run_step builds step_builds ;;
    gcc|clang) run_step "$s" step_compiler "$s" ;;
    load) run_step load step_load ;;
    asan) run_step asan step_sanitizer asan address,undefined ;;
    tsan) run_step tsan step_sanitizer tsan thread ;;
    valgrind) run_step valgrind step_valgrind ;;
    coverage) run_step coverage step_coverage ;;
    fuzz) run_step fuzz step_fuzz ;;
    install) run_step install step_install ;;
    go) run_step go step_go ;;
    windows) run_step windows step_windows ;;
    rust) run_step rust step_rust ;;
    *) echo "unknown step $s" >&2; exit 2 ;;
  esac
done
echo "all steps passed in $(( $(date +%s) - start )) s"
