#!/usr/bin/env bash
# SPIN model check of the sealed profile's wake-up protocol (wake.pml):
# with the fences it must verify (no lost wake-up, no deadlock, assertions
# hold); without them SPIN must find the lost wake-up (the model can fail).
#   check.sh WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: check.sh WORK_DIR}
command -v spin >/dev/null || { echo "check.sh: spin is not installed" >&2; exit 1; }
mkdir -p "$work"
cd "$work"

run() { # name extra-spin-flags... ; prints SPIN's summary, returns pan's verdict
  local name=$1; shift
  rm -rf "$name" && mkdir "$name" && cd "$name"
  spin -a "$@" "$here/wake.pml" >/dev/null
  cc -O2 -DSAFETY -o pan pan.c
  ./pan -m100000 >pan.out 2>&1 || true
  cd ..
  grep -E "errors: [0-9]+" "$name/pan.out"
}

ok=$(run fenced)
echo "with fences:    $ok, $(grep -m1 'states, stored' fenced/pan.out | sed 's/^ *//')"
bad=$(run unfenced -DNO_FENCE)
echo "without fences: $bad (a counterexample is expected)"
[[ $ok == *"errors: 0"* ]] || { cat fenced/pan.out; exit 1; }
[[ $bad != *"errors: 0"* ]] || { echo "the model did not find the lost wake-up without fences" >&2; exit 1; }
grep -q "invalid end state" unfenced/pan.out || { cat unfenced/pan.out; exit 1; }
