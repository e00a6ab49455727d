#!/usr/bin/env bash
# Profile evidence for docs/benchmarks.md: user-space instructions per
# request of each side, library row against its reference row, counted by
# valgrind --tool=callgrind. Instruction counts do not depend on the load of
# the machine, so this can run while others use it (the timing rows cannot).
# Kernel work (system calls, wake-ups) is not counted: use perf for that.
#
#   bash bench/profile.sh [BENCH_BINARY [OUT_CSV]]
# Default binary build/bench/bench/netipc_bench; the CSV (scenario,
# client_instructions_per_request, server_instructions_per_request) goes to
# OUT_CSV or standard output. scripts/bench.sh passes it to the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-build/bench/bench/netipc_bench}
out=${2:-/dev/stdout}
command -v valgrind >/dev/null || { echo "profile: valgrind not installed" >&2; exit 1; }
[[ -x $bench ]] || { echo "profile: build $bench first (make bench-quick)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/netipc-profile.XXXXXX")
trap 'rm -rf "$work"' EXIT

# instructions SCENARIO SIDE: callgrind on one side, the other runs natively.
# Prints the timed window's requests and the instructions of the side's
# request loop (no warm-up, so every request of the loop is counted).
instructions() {
  local sc=$1 side=$2 dir
  dir=$(mktemp -d "$work/run.XXXX")
  mkfifo "$dir/sin" "$dir/cin"
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out")
  local ws=() wc=()
  if [[ $side == server ]]; then ws=("${vg[@]}"); else wc=("${vg[@]}"); fi
  sleep 60 >"$dir/sin" & local hold=$!
  "${ws[@]}" "$bench" server "$sc" "$dir" <"$dir/sin" >"$dir/sout" 2>/dev/null &
  local srv=$!
  until grep -q ready "$dir/sout" 2>/dev/null; do sleep 0.1; done
  # go after the client's (empty) warm-up; mark/stop are not needed here
  (sleep 1; echo go) >"$dir/cin" &
  local res
  res=$("${wc[@]}" "$bench" client "$sc" "$dir" 1 0 0 <"$dir/cin" 2>/dev/null | grep result)
  kill "$hold" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  local ops=${res#*ops=}; ops=${ops%% *}
  # Inclusive cost of the side's request loop, so start-up is left out.
  # (awk reads to the end: an early exit would fail the pipe under pipefail.)
  local fn='run_loop'
  [[ $side == server ]] && fn='session_main|seq_serve|shm_serve'
  local ir
  ir=$(callgrind_annotate --inclusive=yes "$dir/cg.out" 2>/dev/null |
       awk -v fn="$fn" '!done && $0 ~ ":(" fn ")" {gsub(",", "", $1); print $1; done = 1}')
  echo "$ops ${ir:-0}"
}

# local SCENARIO: instructions per lookup of the in-process rows (block loop).
local_instructions() {
  local sc=$1 dir
  dir=$(mktemp -d "$work/run.XXXX")
  local res ops ir
  res=$(valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bench" local "$sc" "$dir" 1 0 \
        2>/dev/null | grep result)
  ops=${res#*ops=}; ops=${ops%% *}
  ir=$(callgrind_annotate --inclusive=yes "$dir/cg.out" 2>/dev/null |
       awk '!done && $0 ~ ":(cache_block|raw_hash_block)" {gsub(",", "", $1); print $1; done = 1}')
  echo "${ops:-0} ${ir:-0}"
}

echo "scenario,client_instructions_per_request,server_instructions_per_request" >"$out"
# PROFILE_ROWS / PROFILE_LOCAL_ROWS (space-separated) profile other rows.
rows=${PROFILE_ROWS-uds-ping-pong raw-seqpacket-ping-pong shm-ping-pong raw-shm-ping-pong
  sealed-ping-pong raw-shm-cond-ping-pong uds-batch raw-seqpacket-batch uds-pipeline-d16
  raw-seqpacket-pipeline-d16}
local_rows=${PROFILE_LOCAL_ROWS-cache-lookup-1000 raw-hash-lookup-1000 cache-guarded-r1}
for sc in $rows; do
  read -r cops cir < <(instructions "$sc" client)
  read -r sops sir < <(instructions "$sc" server)
  (( cops > 0 && sops > 0 && cir > 0 && sir > 0 )) || { echo "profile: $sc failed" >&2; exit 1; }
  echo "$sc,$((cir / cops)),$((sir / sops))" >>"$out"
done
for sc in $local_rows; do
  read -r ops ir < <(local_instructions "$sc")
  (( ops > 0 && ir > 0 )) || { echo "profile: $sc failed" >&2; exit 1; }
  echo "$sc,$((ir / ops)),-" >>"$out"
done
