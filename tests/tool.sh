#!/usr/bin/env bash
# The netipc tool as a user meets it (POSIX): every failure is one line on
# stderr naming the cause and the object, with the documented exit code;
# --json output parses; status and cleanup agree on what is stale and leave
# foreign files alone; serve never passes off invented cgroups as the
# machine's; a provider killed during `call --count` leaves the partial
# statistics and a current error.
#   tool.sh <path to netipc> <expected version>
set -euo pipefail
bin=$1
version=$2
run=$(mktemp -d)
logs=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$run" "$logs"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect <exit code> <stderr pattern> -- command...: one stderr line matching.
expect() {
    local code=$1 pattern=$2 rc=0
    shift 3
    "$@" >"$logs/out" 2>"$logs/err" || rc=$?
    local lines
    lines=$(wc -l <"$logs/err")
    if [ "$rc" -ne "$code" ]; then
        fail "$*: exit $rc, expected $code ($(cat "$logs/err"))"
    elif [ "$lines" -ne 1 ]; then
        fail "$*: $lines lines on stderr, expected one: $(cat "$logs/err")"
    elif ! grep -qE -- "$pattern" "$logs/err"; then
        fail "$*: stderr '$(cat "$logs/err")' does not match '$pattern'"
    else
        echo "ok   $code $(cat "$logs/err")"
    fi
}

json_ok() { python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]' ; }

# ------------------------------------------------------------- version, usage
out=$("$bin" --version)
[ "$out" = "netipc $version (library $version)" ] || fail "--version printed '$out'"
[ "$("$bin" version)" = "$out" ] || fail "version command differs from --version"
"$bin" --help | grep -q "^Exit codes" || fail "--help lacks the exit codes"

expect 2 "no command given" -- "$bin"
expect 2 "unknown command 'frobnicate'" -- "$bin" frobnicate
expect 2 "unknown kind 'foo'.*see 'netipc call --help'" -- "$bin" --run-dir "$run" call foo
expect 2 "unknown kind 'foo'.*see 'netipc serve --help'" -- "$bin" --run-dir "$run" serve foo
expect 2 "serve increment: unexpected argument 'extra'" -- "$bin" --run-dir "$run" serve increment extra
expect 2 "option --run-dir needs a value" -- "$bin" --run-dir
expect 2 "option --timeout needs a value.*see 'netipc call --help'" -- "$bin" call increment 1 --timeout
expect 2 "bad value for --count: '0'" -- "$bin" --run-dir "$run" call increment 1 --count 0
expect 2 "bad value for --profile: 'tcp'" -- "$bin" --run-dir "$run" call increment 1 --profile tcp
expect 2 "unknown option --frob" -- "$bin" --run-dir "$run" call increment 1 --frob
expect 2 "'x1' is not an unsigned integer" -- "$bin" --run-dir "$run" call increment x1
expect 2 "key 2 is empty" -- "$bin" --run-dir "$run" call cgroups-lookup /a ""
expect 2 "key 1 'abc' is not a PID" -- "$bin" --run-dir "$run" call apps-lookup abc
expect 2 "bad service name 'a/b'" -- "$bin" --run-dir "$run" call increment 1 --service a/b
expect 2 "status takes one run directory" -- "$bin" status a b

# ------------------------------------------------------------ missing things
expect 1 "run directory $run/missing does not exist" -- "$bin" --run-dir "$run/missing" call increment 1
expect 1 "run directory $run/missing does not exist" -- "$bin" status "$run/missing"
expect 1 "run directory $run/missing does not exist" -- "$bin" cleanup "$run/missing"
expect 1 "call increment at 'increment' in $run: no provider .*\(NOT_FOUND\)" -- "$bin" --run-dir "$run" call increment 1
out=$("$bin" --run-dir "$run" call increment 1 --json 2>/dev/null || true)
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["name"])' "$out")" = NOT_FOUND ] \
    || fail "a --json failure is not a JSON error naming NOT_FOUND: $out"
rc=0; "$bin" status "$run" >/dev/null || rc=$?
[ "$rc" -eq 4 ] || fail "status of an empty run dir: exit $rc, expected 4"

# ------------------------------------------------- serve: where data comes from
mkdir "$run/nocgroups"
expect 1 "serve cgroups-snapshot: $run/nocgroups has no readable cgroups.*--corpus N" -- \
    "$bin" --run-dir "$run" serve cgroups-snapshot --cgroup-root "$run/nocgroups"
expect 1 "serve cgroups-lookup: $run/nocgroups has no readable cgroups.*--corpus N" -- \
    "$bin" --run-dir "$run" serve cgroups-lookup --cgroup-root "$run/nocgroups"

# start <kind> [options]: a provider named after its kind, READY awaited.
start() {
    "$bin" --run-dir "$run" serve "$@" >"$logs/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 200); do
        grep -q READY "$logs/$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "provider $1 did not start"; cat "$logs/$1.log"; exit 1
}
start cgroups-snapshot --corpus 30 --rescan 0
grep -q "^READY $run cgroups-snapshot source=corpus: invented cgroups (30 cgroups)$" \
    "$logs/cgroups-snapshot.log" || fail "READY line: $(head -1 "$logs/cgroups-snapshot.log")"
snap_pid=${pids[-1]}
start increment
inc_pid=${pids[-1]}

# ------------------------------------------------------------------ call
[ "$("$bin" --run-dir "$run" call increment 41)" = 42 ] || fail "increment 41"
"$bin" --run-dir "$run" call increment 41 --json | json_ok || fail "call --json"
"$bin" --run-dir "$run" call cgroups-snapshot --json --limit 0 | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["kind"] == "cgroups-snapshot" and d["count"] == 30 and len(d["items"]) == 30, d
' || fail "cgroups-snapshot --json"
out=$("$bin" --run-dir "$run" call increment 1 --count 50 --json)
[ "$(json_ok <<<"$out"; grep -c '"call"' <<<"$out")" -eq 50 ] || fail "--count --json: not 50 call lines"
tail -1 <<<"$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
assert s["calls"] == 50 and s["done"] == 50 and "failed_with" not in s, s
' || fail "--count --json summary"

# ------------------------------------------------------------- status
"$bin" status "$run" --json >"$logs/status.json" || fail "status with live providers: exit $?"
python3 - "$logs/status.json" "$inc_pid" "$snap_pid" <<'EOF' || fail "status --json content"
import json, sys
d = json.load(open(sys.argv[1]))
eps = {e["service"]: e for e in d["entries"] if e["kind"] == "endpoint"}
assert eps["increment"]["state"] == "live" and eps["increment"]["pid"] == int(sys.argv[2]), eps
assert eps["cgroups-snapshot"]["pid"] == int(sys.argv[3]), eps
assert "shm-sealed" in eps["increment"]["profiles"], eps
assert eps["cgroups-snapshot"]["source"].startswith("corpus: invented cgroups"), eps
assert d["exit"] == 0 and d["live_endpoints"] == 2, d
EOF
"$bin" status "$run" | grep -q "cgroups-snapshot .*live .*pid $snap_pid.*serves cgroups-snapshot from corpus: invented cgroups" \
    || fail "status text: $("$bin" status "$run")"
rc=0; "$bin" status "$run" --service increment >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "status --service increment: exit $rc"
rc=0; "$bin" status "$run" --service nothing >/dev/null || rc=$?
[ "$rc" -eq 4 ] || fail "status --service nothing: exit $rc, expected 4"

# A foreign file named like a region: both commands leave it alone.
printf 'not a region, 64 bytes or more: ...........................................\n' \
    >"$run/x-0000000000000001.ipcshm"
"$bin" status "$run" | grep -q "x .*foreign .*not made by netipc" || fail "foreign region file not foreign"

# ------------------------------------------ a provider killed during --count
"$bin" --run-dir "$run" call increment 1 --count 100000000 >"$logs/series.out" 2>"$logs/series.err" &
series=$!
sleep 0.5
kill -9 "$inc_pid"
rc=0; wait "$series" || rc=$?
[ "$rc" -eq 1 ] || fail "series after the kill: exit $rc"
grep -Eq "^[0-9]+ of 100000000 calls done before the failure over SHM" "$logs/series.out" \
    || fail "no partial statistics: $(cat "$logs/series.out")"
[ "$(wc -l <"$logs/series.err")" -eq 1 ] || fail "series stderr: $(cat "$logs/series.err")"
grep -q "(NOT_FOUND)" "$logs/series.err" || fail "series error: $(cat "$logs/series.err")"
if grep -q "os error" "$logs/series.err"; then
    grep -q "Connection refused (os error 111)" "$logs/series.err" \
        || fail "a stale os error: $(cat "$logs/series.err")"
fi
echo "ok   series: $(cat "$logs/series.out") / $(cat "$logs/series.err")"

# ------------------------------------------------- stale: status, then cleanup
rc=0; "$bin" status "$run" >"$logs/status.txt" || rc=$?
[ "$rc" -eq 3 ] || fail "status with a stale endpoint: exit $rc, expected 3"
grep -q "increment .*stale .*no provider answers; 'netipc cleanup' removes it" "$logs/status.txt" \
    || fail "stale socket not reported: $(cat "$logs/status.txt")"
grep -q "increment .*stale .*its process is gone" "$logs/status.txt" \
    || fail "stale serve-info not reported: $(cat "$logs/status.txt")"
out=$("$bin" cleanup "$run")
grep -q "^removed increment.sock" <<<"$out" || fail "cleanup: $out"
grep -q "^removed increment.serve-info" <<<"$out" || fail "cleanup: $out"
grep -q "^2 stale entries removed" <<<"$out" || fail "cleanup count: $out"
[ -e "$run/x-0000000000000001.ipcshm" ] || fail "cleanup removed a foreign file"
[ -e "$run/cgroups-snapshot.sock" ] || fail "cleanup removed a live endpoint"
rc=0; "$bin" status "$run" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "status after cleanup: exit $rc, expected 0"

kill -TERM "$snap_pid"
wait "$snap_pid" || fail "the snapshot provider did not stop cleanly"
pids=()
left=$(ls -A "$run" | grep -v '^nocgroups$\|^x-0000000000000001.ipcshm$' || true)
[ -z "$left" ] || fail "files left behind: $left"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "tool: ok"
