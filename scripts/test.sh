#!/usr/bin/env bash
# make test: install what is missing, then build and test every configuration.
#   gcc     -Werror build, unit/interop/... suites
#   clang   -Werror build, same suites
#   fuzz    clang + libFuzzer, each target for a bounded time (label fuzz)
#   install install the gcc build and build a consumer through find_package and pkg-config
#   windows mingw-w64 cross build, every registered suite run under wine (label windows and all)
# Each step prints one line; logs of a failing step are printed in full.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build}
jobs=${JOBS:-2}
steps=${NETIPC_TEST_STEPS:-gcc clang fuzz install windows}

bash scripts/install-deps.sh base test

log_dir=$build/logs
mkdir -p "$log_dir"
start=$(date +%s)

run_step() {
  local name=$1; shift
  local log=$log_dir/$name.log t0=$(date +%s)
  printf '%-10s ' "$name"
  if "$@" >"$log" 2>&1; then
    echo "ok ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAILED ($(( $(date +%s) - t0 )) s); log: $log"
    tail -n 80 "$log"
    exit 1
  fi
}

configure_build() {
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G "Unix Makefiles" "$@"
  cmake --build "$dir" -j"$jobs"
}

step_compiler() {
  local cc=$1
  configure_build "$build/$cc" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ctest --test-dir "$build/$cc" --output-on-failure -j"$jobs" -LE 'fuzz|slow'
}

step_fuzz() {
  configure_build "$build/fuzz" -DCMAKE_C_COMPILER=clang -DNETIPC_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ctest --test-dir "$build/fuzz" --output-on-failure -j"$jobs" -L fuzz
}

step_install() {
  local prefix=$root/$build/install
  rm -rf "$prefix"
  cmake --install "$build/gcc" --prefix "$prefix"
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
  [[ $rc -eq 0 ]] && ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE 'fuzz|slow' || rc=1
  wineserver -k || true
  return $rc
}

for s in $steps; do
  case $s in
    gcc|clang) run_step "$s" step_compiler "$s" ;;
    fuzz) run_step fuzz step_fuzz ;;
    install) run_step install step_install ;;
    windows) run_step windows step_windows ;;
    *) echo "unknown step $s" >&2; exit 2 ;;
  esac
done
echo "all steps passed in $(( $(date +%s) - start )) s"
