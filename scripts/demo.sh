#!/usr/bin/env bash
# make demo: build the library and the demo program, saying what happens
# while it happens, then run the demo (tools/demo.c).
set -euo pipefail
build=${BUILD:-build}/gcc
jobs=${JOBS:-2}

bash scripts/install-deps.sh base
echo "demo: configuring $build (gcc, RelWithDebInfo)"
cmake -S . -B "$build" -G "Unix Makefiles" -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "demo: building the library and the demo with $jobs job(s)"
# One line per finished target instead of cmake's per-file progress.
cmake --build "$build" -j"$jobs" --target netipc_demo \
  | sed -un 's/^\[ *[0-9]*%\] Built target \(.*\)$/demo:   built \1/p'
echo "demo: running $build/tools/netipc_demo"
echo
exec "$build/tools/netipc_demo"
