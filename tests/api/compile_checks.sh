#!/usr/bin/env bash
# The return-type rule of the public API (include/netipc/error.h), checked
# where it matters: at compile time. Each snippet is compiled against the
# public headers with the compiler of the build; misuse must not compile,
# and the correct forms beside it must (so the check cannot pass vacuously).
#   compile_checks.sh CC INCLUDE_DIR WORK_DIR
set -euo pipefail
cc=${1:?usage: compile_checks.sh CC INCLUDE_DIR WORK_DIR}
inc=${2:?}
work=${3:?}
mkdir -p "$work"
fails=0

compile() { # name body -> 0 if it compiles
  printf '#include "netipc/netipc.h"\nconst char *f(nipc_client_t *c, nipc_abort_t *a, nipc_cgroups_cache_t *k);\nconst char *f(nipc_client_t *c, nipc_abort_t *a, nipc_cgroups_cache_t *k)\n{\n    (void)c; (void)a; (void)k;\n    %s\n}\n' "$2" >"$work/$1.c"
  "$cc" -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$work/$1.c" >"$work/$1.log" 2>&1
}

must_compile() {
  if compile "$1" "$2"; then echo "ok   compiles: $2"; else
    echo "FAIL should compile: $2"; cat "$work/$1.log"; fails=$((fails + 1)); fi
}
must_fail() {
  if compile "$1" "$2"; then echo "FAIL should not compile: $2"; fails=$((fails + 1)); else
    echo "ok   refused:  $2"; fi
}

must_compile ok_refresh 'return nipc_error_name(nipc_client_refresh(c));'
must_compile ok_constant 'return nipc_strerror(NIPC_ERR_TIMEOUT);'
must_compile ok_variable 'nipc_error_t e = nipc_client_refresh(c); return nipc_error_name(e);'
must_compile ok_ready 'return nipc_client_ready(c) ? "ready" : "not ready";'
must_fail bad_ready 'return nipc_error_name(nipc_client_ready(c));'
must_fail bad_abort 'return nipc_strerror(nipc_abort_is_set(a));'
must_fail bad_cache_ready 'return nipc_error_name(nipc_cgroups_cache_ready(k));'
must_fail bad_name_valid 'return nipc_strerror(nipc_service_name_valid("x"));'
must_fail bad_state 'return nipc_error_name(nipc_client_state(c));'
must_fail bad_pointer 'return nipc_error_name(nipc_strerror(NIPC_OK));'
must_fail bad_void 'return nipc_error_name(nipc_client_close(c));'
exit $((fails > 0))
