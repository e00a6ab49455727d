#!/usr/bin/env bash
# make bench / make bench-quick: build the benchmark driver (Release) and run
# a suite, then generate the report.
#   full   every scenario, placements same and split, 5 samples per row;
#          writes docs/benchmarks.md, docs/bench/*.svg and the run's data in
#          docs/bench/data/ (< 15 min on 2 cores)
#   quick  the target pairs only, split placement, 3 short samples, max rate;
#          writes build/bench/quick/benchmarks.md (< 2 min)
# Numbers are only worth publishing from an otherwise idle machine: the load
# average before and after is recorded in the report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=${1:-full}
build=${BUILD:-build}/bench
jobs=${JOBS:-2}
case $suite in
  full|quick) ;;
  *) echo "usage: scripts/bench.sh full|quick" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh base bench rust

# NETIPC_BENCH_RUST: the Rust rows (the crate's cost over calling C directly).
cmake -S "$root" -B "$build" -G "Unix Makefiles" -DNETIPC_BUILD_BENCH=ON -DNETIPC_BENCH_RUST=ON \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs" --target netipc_bench >/dev/null

out=$build/$suite
work=$(mktemp -d "${TMPDIR:-/tmp}/netipc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"
# The tree that was built and run (the report is written later, maybe from
# another state of the tree).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] ||
  commit+=" (with uncommitted changes)"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: suite $suite, load average $load (publish only from an idle machine)"
"$build/bench/netipc_bench" run --suite "$suite" --work "$work" --out "$out/results" \
  2> >(tee "$out/runner.log" >&2)
echo "git_commit=$commit" >>"$out/results/machine.txt"

if [[ $suite == full ]]; then
  # Instruction counts (load-independent profile evidence), when valgrind is here.
  profile=()
  if command -v valgrind >/dev/null 2>&1; then
    bash bench/profile.sh "$build/bench/netipc_bench" "$out/profile.csv"
    profile=(--profile "$out/profile.csv")
  else
    echo "bench: valgrind not installed, no instruction profile in the report"
  fi
  python3 bench/report.py --results "$out/results" --out docs/benchmarks.md \
    --charts docs/bench --analysis bench/analysis.md "${profile[@]}"
  # The run's raw data beside the report, so anyone can check or regenerate it.
  mkdir -p docs/bench/data
  cp "$out"/results/{results.csv,samples.csv,expected.txt,machine.txt} docs/bench/data/
  [[ ${#profile[@]} -eq 0 ]] || cp "$out/profile.csv" docs/bench/data/
else
  python3 bench/report.py --results "$out/results" --out "$out/benchmarks.md" \
    --charts "$out/charts" --analysis bench/analysis.md
fi
