#!/usr/bin/env bash
# Installs what the build needs, for one or more groups:
#   base     cmake, make, gcc, pkg-config      (make demo)
#   test     base + clang with its runtimes (fuzzing, sanitizers), valgrind, gcovr,
#            spin (model check of the SHM wake-up protocol)
#   windows  mingw-w64 cross compiler and wine  (Windows suite under wine)
#   bench    ZeroMQ and nng development packages (comparison rows)
#   go       Debian's Go toolchain (golang-go, Go 1.19 on bookworm): the Go implementation
#   rust     Debian's Rust toolchain (rustc, cargo, rustfmt, clippy) and the crates the
#            netipc crate builds with (librust-cc-dev, librust-pkg-config-dev), found
#            offline under /usr/share/cargo/registry (rust/.cargo/config.toml)
# Missing packages are installed with apt-get when running as root; otherwise
# the script names them and fails, so nothing depends on hand-installed tools.
set -euo pipefail

want=()
for group in "${@:-base}"; do
  case "$group" in
    base) want+=(cmake:cmake make:make gcc:gcc pkg-config:pkg-config) ;;
    test) want+=(cmake:cmake make:make gcc:gcc pkg-config:pkg-config clang:clang
                 file:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a=libclang-rt-14-dev
                 valgrind:valgrind gcovr:gcovr python3:python3 spin:spin) ;;
    windows) want+=(x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 wine:wine
                    file:/usr/lib/wine/wine64=wine64) ;;
    bench) want+=(file:/usr/include/zmq.h=libzmq3-dev file:/usr/include/nng/nng.h=libnng-dev
                  python3:python3) ;;
    go) want+=(go:golang-go) ;;
    # Files, not commands: a rustup toolchain in PATH is not what a fresh
    # Debian machine builds with, and it cannot build offline from
    # /usr/share/cargo/registry.
    rust) want+=(file:/usr/bin/cargo=cargo file:/usr/bin/rustc=rustc file:/usr/bin/rustfmt=rustfmt
                 file:/usr/bin/cargo-clippy=rust-clippy
                 file:/usr/share/cargo/registry/cc-1.*=librust-cc-dev
                 file:/usr/share/cargo/registry/pkg-config-0.3.*=librust-pkg-config-dev
                 gcc:gcc valgrind:valgrind) ;;
    *) echo "install-deps: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=()
for item in "${want[@]}"; do
  if [[ $item == file:* ]]; then
    spec=${item#file:}
    path=${spec%%=*}
    pkg=${spec#*=}
    # The clang runtime path carries a version; accept any installed one.
    if [[ $path == *libclang_rt.fuzzer* ]]; then
      compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null \
        && continue
    elif [[ $path == *'*'* ]]; then
      compgen -G "$path" >/dev/null && continue
    elif [[ -e $path ]]; then
      continue
    fi
  else
    cmd=${item%%:*}
    pkg=${item#*:}
    command -v "$cmd" >/dev/null 2>&1 && continue
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no apt-get here; install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
