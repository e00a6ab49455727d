#!/usr/bin/env bash
# ctest bench_smoke: every scenario once, briefly (netipc_bench run --suite
# smoke), then the report generator in check mode over that output, so that
# neither the driver nor the generator can rot. Usage: smoke.sh BENCH REPORT_PY DIR
set -euo pipefail
bench=$1 report=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
"$bench" run --suite smoke --work "$dir/work" --out "$dir/out"
if command -v python3 >/dev/null 2>&1; then
  python3 "$report" --results "$dir/out" --check
else
  echo "smoke: python3 not found, report generator not checked"
fi
