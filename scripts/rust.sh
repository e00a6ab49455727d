#!/usr/bin/env bash
# The Rust crate's checks (make test's `rust` step; also runnable alone):
#   fmt       cargo fmt --check
#   clippy    cargo clippy -D warnings, every target of the workspace
#   doc       cargo doc, rustdoc warnings (broken links ...) are errors
#   test      cargo test: unit tests, integration tests (tests/api.rs, and
#             tests/cross.rs: Rust <-> C over UDS and SHM) and doc tests
#   asan      the integration tests again with the C library and the C peer
#             built with AddressSanitizer (NETIPC_C_SANITIZE=address):
#             zero reports, leaks included, from the tests and every peer
#   valgrind  the integration tests under memcheck, children traced: no
#             error and no definite or indirect leak on either side
#   pkgconfig the integration tests linked to an installed libnetipc found by
#             pkg-config (NETIPC_LINK=pkg-config), installed from BUILD_DIR/gcc
#             (make test's gcc step); said and skipped when that build is absent
# Toolchain: Debian's (/usr/bin/cargo, rustc 1.63), the one a fresh Debian 12
# machine gets from `scripts/install-deps.sh rust`, so the crate's MSRV is
# what is checked; a rustup toolchain elsewhere in PATH is not used.
# NETIPC_RUST_CARGO=path overrides. Crates come from /usr/share/cargo/registry
# (rust/.cargo/config.toml: offline); CARGO_HOME and the target dirs are
# under the build dir, so nothing outside the tree is written.
#   scripts/rust.sh [BUILD_DIR]    (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/${1:-build}
jobs=${JOBS:-2}
checks=${NETIPC_RUST_CHECKS:-fmt clippy doc test asan valgrind pkgconfig}

cargo=${NETIPC_RUST_CARGO:-}
if [[ -z $cargo ]]; then
  if [[ -x /usr/bin/cargo ]]; then cargo=/usr/bin/cargo; else cargo=$(command -v cargo); fi
fi
# rustfmt and clippy-driver are found next to cargo.
export PATH="$(dirname "$cargo"):$PATH"
export CARGO_HOME=$build/cargo-home
export CARGO_TARGET_DIR=$build/rust/target
export RUST_BACKTRACE=0
unset RUSTC RUSTDOC RUSTFLAGS NETIPC_LINK NETIPC_C_SANITIZE
echo "rust: $("$cargo" --version), $(rustc --version)"

cd "$root/rust"
# A lock file written by a newer cargo (format v4) is unreadable for
# Debian's; it is generated, never committed: start from a fresh one.
rm -f Cargo.lock

t_step=$SECONDS
step_end() { [[ -z ${cur:-} ]] || echo "   ($cur: $((SECONDS - t_step)) s)"; }
step() {
  step_end
  cur=$1 t_step=$SECONDS
  echo "== rust $1"
}

for c in $checks; do
  case $c in
    fmt)
      step fmt
      "$cargo" fmt --all -- --check ;;
    clippy)
      step clippy
      "$cargo" clippy -j"$jobs" --workspace --all-targets -- -D warnings ;;
    doc)
      step doc
      RUSTDOCFLAGS="-D warnings" "$cargo" doc -j"$jobs" --no-deps -p netipc ;;
    test)
      step test
      "$cargo" test -j"$jobs" -- --test-threads="$jobs" ;;
    asan)
      step asan
      logs=$build/rust/asan-logs
      rm -rf "$logs"; mkdir -p "$logs"
      # The runtime is linked as a library, not first: tell ASan that is fine.
      ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:verify_asan_link_order=0" \
      LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0" \
      NETIPC_C_SANITIZE=address CARGO_TARGET_DIR=$build/rust/asan \
        "$cargo" test -j"$jobs" --tests -- --test-threads="$jobs"
      if compgen -G "$logs/*" >/dev/null; then
        echo "sanitizer reports:"; head -n 60 "$logs"/*; exit 1
      fi ;;
    valgrind)
      step valgrind
      # Same options as scripts/valgrind.sh (see there for why).
      vg=(valgrind -q --fair-sched=yes --vex-iropt-register-updates=allregs-at-mem-access
          --error-exitcode=99 --leak-check=full
          --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
          --trace-children=yes --suppressions="$root/tests/sanitizers/valgrind.supp")
      "$cargo" test -j"$jobs" --tests --no-run
      for t in api cross; do
        bin=$(ls -t "$CARGO_TARGET_DIR"/debug/deps/"$t"-* | grep -v '\.d$' | head -n 1)
        echo "-- valgrind $t"
        "${vg[@]}" "$bin" --test-threads="$jobs"
      done ;;
    pkgconfig)
      step pkgconfig
      if [[ ! -f $build/gcc/CMakeCache.txt ]]; then
        echo "skipped: no gcc build in $build/gcc to install (make test's gcc step makes one)"
        continue
      fi
      prefix=$build/rust/pc-install
      rm -rf "$prefix"
      cmake --build "$build/gcc" -j"$jobs" --target netipc_shared netipc_static >/dev/null
      cmake --install "$build/gcc" --prefix "$prefix" >/dev/null
      pc=$(dirname "$(find "$prefix" -name netipc.pc | head -n 1)")
      PKG_CONFIG_PATH=$pc NETIPC_LINK=pkg-config \
      CARGO_TARGET_DIR=$build/rust/pkg-config \
        "$cargo" test -j"$jobs" --tests -- --test-threads="$jobs" ;;
    *) echo "rust.sh: unknown check $c" >&2; exit 2 ;;
  esac
done
step_end
echo "rust: all checks passed"
