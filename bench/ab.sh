#!/usr/bin/env bash
# A/B of two library versions on the same benchmark rows, interleaved: round
# after round, one sample of every row for version A, then for B, so both
# meet the same machine conditions; medians per row, and A / B.
#
#   bash bench/ab.sh A B ROWS [ROUNDS]
#
# A and B are versions: REV, or REV+FROM:path,path (REV with those files as
# they were at FROM: a change taken out of an otherwise current tree, so
# both sides have the same benchmark rows). ROWS: comma-separated scenario
# names (netipc_bench list). Each version is built once in
# build/ab/<version hash>. Like make bench: only from an idle machine, and
# never beside another benchmark.
#
#   bash bench/ab.sh HEAD 'HEAD+b0ccf0b^:src/cache/cgroups_cache.c' cache-guarded-r1,cache-guarded-r2
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 3 ]] || { sed -n 2,15p "$0"; exit 2; }
a=$1 b=$2 rows=$3 rounds=${4:-5}
root=$PWD

build_version() { # VERSION -> prints the bench binary path
  local v=$1 rev dir
  # Key the build on the commit, not on its name (HEAD moves).
  rev=$(git rev-parse --verify "${v%%+*}^{commit}")
  dir=$root/build/ab/$(printf '%s' "$rev${v#"${v%%+*}"}" | sha1sum | cut -c1-12)
  if [[ ! -x $dir/b/bench/netipc_bench ]]; then
    rm -rf "$dir"
    git worktree add -f --detach "$dir/src" "$rev" >/dev/null 2>&1
    if [[ $v == *+* ]]; then
      local spec=${v#*+} from files
      from=${spec%%:*}
      files=${spec#*:}
      (cd "$dir/src" && git checkout "$from" -- ${files//,/ })
    fi
    cmake -S "$dir/src" -B "$dir/b" -DCMAKE_BUILD_TYPE=Release -DNETIPC_BUILD_BENCH=ON \
      -DNETIPC_BUILD_TESTS=OFF -DNETIPC_BUILD_TOOLS=OFF -DNETIPC_BENCH_GO=OFF >/dev/null
    cmake --build "$dir/b" -j2 --target netipc_bench >/dev/null
  fi
  echo "$dir/b/bench/netipc_bench"
}

bin_a=$(build_version "$a")
bin_b=$(build_version "$b")
out=$(mktemp -d "${TMPDIR:-/tmp}/netipc-ab.XXXXXX")
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for side in a b; do
    bin=$bin_a; [[ $side == b ]] && bin=$bin_b
    work=$(mktemp -d "$out/work.XXXX")
    "$bin" run --suite full --placement both --samples 1 --max-only 1 --only "$rows" \
      --work "$work" --out "$out/$side.$r" >/dev/null 2>&1 || echo "ab: round $r, $side failed" >&2
  done
done
echo "ab: A = $a, B = $b, $rounds interleaved rounds, $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import csv, glob, statistics, sys
from collections import defaultdict
out = sys.argv[1]
vals = defaultdict(list)
for side in ("a", "b"):
    for f in glob.glob(f"{out}/{side}.*/results.csv"):
        for row in csv.DictReader(open(f)):
            vals[(row["placement"], row["scenario"], side)].append((float(row["throughput"]), row["unit"]))
print(f"{'placement':9} {'scenario':28} {'A median':>16} {'B median':>16} {'A / B':>7}  samples")
for p, s in sorted({(p, s) for p, s, _ in vals}):
    a, b = vals[(p, s, "a")], vals[(p, s, "b")]
    if not a or not b:
        continue
    ma, mb = statistics.median(x for x, _ in a), statistics.median(x for x, _ in b)
    print(f"{p:9} {s:28} {ma:>16,.0f} {mb:>16,.0f} {ma / mb:>7.3f}  {len(a)}/{len(b)} {a[0][1]}")
PY
