#!/usr/bin/env bash
# The netipc tool on Windows (netipc.exe under wine), as a user meets it:
# --version, usage errors and exit codes with one line on stderr; every
# kind served and called over the pipe and over SHM; --json answers that
# parse; status (live pipes with the provider's pid, exit codes 0/3/4) and
# cleanup (a killed provider's sidecar is stale and the only thing removed);
# --duration and Ctrl-C end a provider cleanly; cgroups only with --corpus,
# apps-lookup refused; the default run dir.
#   tool_windows.sh <wine> <path to netipc.exe> <expected version>
# Windows programs end lines with \r\n: every output is read with \r
# stripped. wine cannot list \\.\pipe\ (endpoints_windows.c), so status
# finds pipes by probing the names it can guess; a provider under a custom
# service name checks that path. No timing is asserted: waits are bounded
# only so that a hang fails instead of blocking ctest.
set -euo pipefail
wine=$1
bin=$2
version=$3
export WINEDEBUG=${WINEDEBUG:--all}
run=$(mktemp -d)
logs=$(mktemp -d)
win_run=$("$wine" winepath -w "$run" 2>/dev/null | tr -d '\r') # Z:\tmp\tmp.XXXX
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$run" "$logs"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run args...: netipc.exe's exit code in $rc, its output without \r in
# $logs/out and $logs/err.
run() {
    rc=0
    "$wine" "$bin" "$@" >"$logs/out.raw" 2>"$logs/err.raw" || rc=$?
    tr -d '\r' <"$logs/out.raw" >"$logs/out"
    tr -d '\r' <"$logs/err.raw" >"$logs/err"
}
out() { cat "$logs/out"; }

# expect <exit code> <stderr pattern> -- args...: one stderr line matching.
expect() {
    local code=$1 pattern=$2
    shift 3
    run "$@"
    local lines
    lines=$(wc -l <"$logs/err")
    if [ "$rc" -ne "$code" ]; then
        fail "netipc $*: exit $rc, expected $code ($(cat "$logs/err"))"
    elif [ "$lines" -ne 1 ]; then
        fail "netipc $*: $lines lines on stderr, expected one: $(cat "$logs/err")"
    elif ! grep -qE -- "$pattern" "$logs/err"; then
        fail "netipc $*: stderr '$(cat "$logs/err")' does not match '$pattern'"
    else
        echo "ok   $code $(cat "$logs/err")"
    fi
}

# The run dir as a regular expression (its backslashes escaped).
re_run=$(sed 's/[][\.*^$]/\\&/g' <<<"$win_run")

# ------------------------------------------------------------- version, usage
run --version
[ "$(out)" = "netipc $version (library $version)" ] || fail "--version printed '$(out)'"
v=$(out)
run version
[ "$(out)" = "$v" ] || fail "version command printed '$(out)'"
run --help
grep -q "^Exit codes" "$logs/out" || fail "--help lacks the exit codes"

expect 2 "no command given" --
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown kind 'foo'.*see 'netipc call --help'" -- --run-dir "$win_run" call foo
expect 2 "bad value for --profile: 'tcp'" -- --run-dir "$win_run" call increment 1 --profile tcp
expect 2 "bad value for --count: '0'" -- --run-dir "$win_run" call increment 1 --count 0
expect 2 "bad service name 'a/b'" -- --run-dir "$win_run" call increment 1 --service a/b
expect 2 "key 1 'abc' is not a PID" -- --run-dir "$win_run" call apps-lookup abc
expect 2 "status takes one run directory" -- status a b

# ------------------------------------------------------------ missing things
expect 1 "run directory $re_run\\\\missing does not exist" -- \
    --run-dir "$win_run\\missing" call increment 1
expect 1 "run directory $re_run\\\\missing does not exist" -- status "$win_run\\missing"
expect 1 "call increment at 'increment' in $re_run: no provider .*\(NOT_FOUND\); .* \(os error 2\)$" -- \
    --run-dir "$win_run" call increment 1
run --run-dir "$win_run" call increment 1 --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["error"]["name"] == "NOT_FOUND"' \
    "$logs/out" || fail "a --json failure is not a JSON error naming NOT_FOUND: $(out)"
run status "$win_run"
[ "$rc" -eq 4 ] || fail "status of an empty run dir: exit $rc, expected 4"

# The default run dir: $NETIPC_RUN_DIR, else %TEMP%\netipc, created.
NETIPC_RUN_DIR="$win_run" expect 1 " in $re_run: no provider" -- call increment 1
NETIPC_RUN_DIR= expect 1 " in [A-Z]:\\\\.*\\\\netipc: no provider" -- call increment 1
default=$(sed -E "s/.* in ([A-Z]:.*\\\\netipc): no provider.*/\1/" "$logs/err")
[ -d "$("$wine" winepath -u "$default" 2>/dev/null | tr -d '\r')" ] \
    || fail "the default run dir $default was not created"

# ------------------------------------------------- serve: what can be served
expect 1 "serve cgroups-snapshot: this platform has no cgroups; --corpus N serves N invented ones" -- \
    --run-dir "$win_run" serve cgroups-snapshot
expect 1 "serve cgroups-lookup: this platform has no cgroups; --corpus N serves N invented ones" -- \
    --run-dir "$win_run" serve cgroups-lookup
expect 1 "serve apps-lookup: this platform has no /proc" -- --run-dir "$win_run" serve apps-lookup

# start <log name> <kind> [options]: a provider, READY awaited (20 s bound:
# a wine process start, far under it on a busy machine).
start() {
    local name=$1
    shift
    "$wine" "$bin" --run-dir "$win_run" serve "$@" >"$logs/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 400); do
        grep -q READY "$logs/$name.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "provider $name did not start"; tr -d '\r' <"$logs/$name.log"; exit 1
}
# wait_exit <pid>: its exit code in $rc, or 255 (and a failure) when it is
# still running after 20 s (it has a 2 s join bound after a stop request).
wait_exit() {
    for _ in $(seq 400); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$1" 2>/dev/null; then
        fail "process $1 did not end"
        rc=255
        return
    fi
    rc=0
    wait "$1" || rc=$?
}
# The pid a provider wrote in its sidecar (a Windows pid, not wine's Linux one).
info_pid() { tr -d '\r' <"$run/$1.serve-info" | sed -E 's/^pid=([0-9]+) .*/\1/'; }

start increment increment
inc_pid=${pids[-1]}
start reverse string-reverse --service reverse.custom
rev_pid=${pids[-1]}
start snapshot cgroups-snapshot --corpus 30 --rescan 0
snap_pid=${pids[-1]}
start lookup cgroups-lookup --corpus 30 --rescan 0
lookup_pid=${pids[-1]}
tr -d '\r' <"$logs/snapshot.log" | grep -q "^READY $re_run cgroups-snapshot source=corpus: invented cgroups (30 cgroups)$" \
    || fail "READY line: $(tr -d '\r' <"$logs/snapshot.log")"

# ----------------------------------------------- call, over the pipe and SHM
for p in pipe shm; do
    label=$([ $p = shm ] && echo SHM || echo baseline)
    run --run-dir "$win_run" call increment 41 --profile $p
    [ "$rc" -eq 0 ] && [ "$(out)" = 42 ] || fail "increment 41 over $p: $(out) $(cat "$logs/err")"
    run --run-dir "$win_run" call string-reverse "hello world" --service reverse.custom --profile $p
    [ "$(out)" = "dlrow olleh" ] || fail "string-reverse over $p: $(out) $(cat "$logs/err")"
    run --run-dir "$win_run" call cgroups-snapshot --json --limit 0 --profile $p
    python3 - "$logs/out" "$logs/paths" <<'EOF' || fail "cgroups-snapshot --json over $p: $(out)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "cgroups-snapshot" and d["count"] == 30 and len(d["items"]) == 30, d
open(sys.argv[2], "w").write("\n".join(i["path"] for i in d["items"]) + "\n")
EOF
    mapfile -t paths <"$logs/paths"
    run --run-dir "$win_run" call cgroups-lookup "${paths[@]}" /no/such/cgroup --json --profile $p
    python3 - "$logs/out" <<'EOF' || fail "cgroups-lookup --json over $p: $(out) $(cat "$logs/err")"
import json, sys
d = json.load(open(sys.argv[1]))
items = d["items"]
assert d["kind"] == "cgroups-lookup" and len(items) == 31, d
assert all(i["status"] == "KNOWN" for i in items[:30]), items
assert items[30]["status"] == "UNKNOWN_PERMANENT", items[30]
EOF
    # The profile a session runs over is only printed by a series.
    for k in "increment 1" "cgroups-snapshot"; do
        run --run-dir "$win_run" call $k --count 3 --profile $p
        grep -q "^3 calls over $label in" "$logs/out" || fail "call $k --count 3 over $p: $(out)"
    done
done
run --run-dir "$win_run" call increment 1 --count 20 --json
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert sum("call" in l for l in lines) == 20, lines
s = lines[-1]["summary"]
assert s["calls"] == 20 and s["done"] == 20 and s["profile"] == "SHM", s
' "$logs/out" || fail "call --count --json: $(out)"

# ------------------------------------------------------------- status
printf 'notes\n' >"$run/notes.txt" # foreign: left alone by status and cleanup
run status "$win_run" --json
[ "$rc" -eq 0 ] || fail "status with live providers: exit $rc"
python3 - "$logs/out" "$win_run" "$(info_pid increment)" "$(info_pid reverse.custom)" \
    "$(info_pid cgroups-snapshot)" <<'EOF' || fail "status --json content: $(out)"
import json, sys
d = json.load(open(sys.argv[1]))
run_dir, inc, rev, snap = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
h = 0xcbf29ce484222325  # the pipe name's FNV-1a 64 of the run dir (docs/windows.md)
for b in run_dir.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
eps = {e["service"]: e for e in d["entries"] if e["kind"] == "endpoint"}
assert set(eps) == {"increment", "reverse.custom", "cgroups-snapshot", "cgroups-lookup"}, eps
assert eps["increment"]["name"] == "\\\\.\\pipe\\netipc-%016x-increment" % h, eps["increment"]
assert all(e["state"] == "live" for e in eps.values()), eps
assert eps["increment"]["pid"] == inc and eps["reverse.custom"]["pid"] == rev, (eps, inc, rev)
assert eps["cgroups-snapshot"]["pid"] == snap, eps
assert len({e["pid"] for e in eps.values()}) == 4, eps
assert "shm-hybrid" in eps["increment"]["profiles"], eps
assert eps["cgroups-snapshot"]["source"].startswith("corpus: invented cgroups"), eps
other = [e for e in d["entries"] if e["name"] == "notes.txt"]
assert other and other[0]["state"] == "foreign", d
assert d["exit"] == 0 and d["live_endpoints"] == 4 and d["stale"] == 0, d
EOF
run status "$win_run"
grep -q "reverse.custom .*live .*pid $(info_pid reverse.custom);.*serves string-reverse" "$logs/out" \
    || fail "status text: $(out)"
grep -q "notes.txt .*foreign .*not made by netipc" "$logs/out" || fail "status text: $(out)"
run status "$win_run" --service increment
[ "$rc" -eq 0 ] || fail "status --service increment: exit $rc"
run status "$win_run" --service nothing
[ "$rc" -eq 4 ] || fail "status --service nothing: exit $rc, expected 4"

# --------------------------------------- a killed provider: stale, then cleanup
kill -9 "$inc_pid"
wait "$inc_pid" 2>/dev/null || true
# The wineserver notices the death on its own schedule (20 s bound).
for _ in $(seq 100); do
    run status "$win_run" --service increment
    [ "$rc" -eq 3 ] && break
    sleep 0.1
done
expect 1 "call increment at 'increment' in $re_run: no provider .*\(NOT_FOUND\)" -- \
    --run-dir "$win_run" call increment 1
run status "$win_run"
[ "$rc" -eq 3 ] || fail "status with a stale sidecar: exit $rc, expected 3: $(out)"
grep -q "increment .*stale .*its process is gone; 'netipc cleanup' removes it (increment.serve-info)" \
    "$logs/out" || fail "stale sidecar not reported: $(out)"
run status "$win_run" --json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
inc = [e for e in d["entries"] if e.get("service") == "increment"]
assert [(e["kind"], e["state"]) for e in inc] == [("serve-info", "stale")], inc
assert d["exit"] == 3 and d["stale"] == 1 and d["live_endpoints"] == 3, d
' "$logs/out" || fail "status --json after the kill: $(out)"
run cleanup "$win_run"
grep -q "^removed increment.serve-info (stale serve-info of 'increment')$" "$logs/out" \
    || fail "cleanup: $(out)"
grep -q "^1 stale entry removed" "$logs/out" || fail "cleanup count: $(out)"
[ -e "$run/notes.txt" ] || fail "cleanup removed a foreign file"
[ -e "$run/cgroups-snapshot.serve-info" ] || fail "cleanup removed a live provider's sidecar"
run status "$win_run"
[ "$rc" -eq 0 ] || fail "status after cleanup: exit $rc, expected 0: $(out)"

# ------------------------------------------------------ --duration and Ctrl-C
start timed increment --service timed --duration 1
wait_exit "${pids[-1]}" # duration 1 s + join bound 2 s, far under 20 s
[ "$rc" -eq 0 ] || fail "--duration: exit $rc"
tr -d '\r' <"$logs/timed.log" | grep -q "^netipc: stopped timed; sessions 0" \
    || fail "--duration: $(tr -d '\r' <"$logs/timed.log")"
[ ! -e "$run/timed.serve-info" ] || fail "--duration left its sidecar"

# wine turns SIGINT into CTRL_C_EVENT for the console handlers.
kill -INT "$rev_pid" "$snap_pid" "$lookup_pid"
for name in reverse:$rev_pid snapshot:$snap_pid lookup:$lookup_pid; do
    wait_exit "${name#*:}"
    name=${name%%:*}
    [ "$rc" -eq 0 ] || fail "Ctrl-C: provider $name exited $rc"
    tr -d '\r' <"$logs/$name.log" | grep -q "^netipc: stopped " \
        || fail "Ctrl-C: provider $name: $(tr -d '\r' <"$logs/$name.log")"
done
pids=()
left=$(ls -A "$run" | grep -v '^notes.txt$' || true)
[ -z "$left" ] || fail "files left behind: $left"
run status "$win_run"
[ "$rc" -eq 4 ] || fail "status after every provider stopped: exit $rc, expected 4: $(out)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "tool_windows: ok"
