#!/usr/bin/env bash
# Proves the installed tree is consumable: builds tests/install/consumer with
# find_package(netipc) (shared and static targets) and with pkg-config, and
# runs each program against the installed library only.
#   check.sh <install-prefix> <scratch-dir>
set -euo pipefail
prefix=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"

test -f "$prefix/include/netipc/netipc.h"
pc=$(find "$prefix" -name netipc.pc | head -n1)
libdir=$(cd "$(dirname "$pc")/.." && pwd)

cmake -S "$here/consumer" -B "$work/cmake" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$work/cmake"
LD_LIBRARY_PATH="$libdir" "$work/cmake/consumer_shared"
"$work/cmake/consumer_static"
ldd "$work/cmake/consumer_shared" | grep -q 'libnetipc\.so' \
  || { echo "consumer_shared is not linked against libnetipc.so"; exit 1; }

export PKG_CONFIG_PATH="$libdir/pkgconfig"
version=$(pkg-config --modversion netipc)
# As docs/getting-started.md says for a prefix the loader does not search
# ($HOME/.local, /opt/...): an rpath from pkg-config's libdir, no
# LD_LIBRARY_PATH needed at run time.
cc -std=c11 -o "$work/pc_consumer" "$here/consumer/main.c" $(pkg-config --cflags --libs netipc) \
  -Wl,-rpath,"$(pkg-config --variable=libdir netipc)"
"$work/pc_consumer"
cc -std=c11 -o "$work/pc_consumer_static" "$here/consumer/main.c" \
  $(pkg-config --cflags netipc) "$libdir/libnetipc.a" $(pkg-config --libs-only-other --static netipc) -lpthread
"$work/pc_consumer_static"

# The tool, its man page and its completion, one version everywhere.
out=$("$prefix/bin/netipc" --version)
[ "$out" = "netipc $version (library $version)" ] || { echo "bin/netipc --version: $out"; exit 1; }
man1=$(find "$prefix" -path '*/man1/netipc.1')
grep -q "^\.TH NETIPC 1 .*\"netipc $version\"" "$man1" || { echo "man page version: $man1"; exit 1; }
if command -v man >/dev/null; then
  man -l "$man1" 2>/dev/null | grep -q "netipc - run, call and inspect netipc services"
fi
completion=$(find "$prefix" -path '*/bash-completion/completions/netipc')
bash -c "source '$completion' && complete -p netipc" | grep -q "_netipc"
echo "install check: find_package (shared, static) and pkg-config consumers work; bin/netipc," \
  "netipc(1) and its bash completion are installed, version $version"
