#!/usr/bin/env bash
# The fresh-machine check: CI's command (.ci/run) on a minimal Debian 12
# (debootstrap --variant=minbase: no compiler, no make) in a chroot, from a
# clean clone of this repository. Nothing installed on this machine is
# visible inside, so whatever make test needs it must install itself.
#
#   bash scripts/fresh-machine.sh [DIR [RUNS]]      (as root)
#
# DIR (default /srv/netipc-fresh) is created on first use and kept: packages
# a run installed stay for the next one, so only a new DIR checks the
# installs again. RUNS (default 1): that many runs in a row, each from a new
# clone of the current commit; the first failure stops.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/srv/netipc-fresh}
runs=${2:-1}
[[ $(id -u) -eq 0 ]] || { echo "fresh-machine: run as root (debootstrap, mounts, chroot)" >&2; exit 2; }

if [[ ! -x $dir/bin/bash ]]; then
  command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q debootstrap; }
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$dir/etc/resolv.conf" # apt-get inside needs names

mounted=()
unmount() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" || true; done
}
trap unmount EXIT
for m in proc sys dev dev/pts dev/shm; do
  if ! mountpoint -q "$dir/$m"; then
    mount --bind "/$m" "$dir/$m"
    mounted+=("$dir/$m")
  fi
done
mkdir -p "$dir/tmp"
chmod 1777 "$dir/tmp"

for run in $(seq "$runs"); do
  rm -rf "$dir/root/netipc"
  git clone -q "$repo" "$dir/root/netipc"
  echo "fresh-machine: run $run of $runs, commit $(git -C "$repo" rev-parse --short HEAD)," \
    "$(date -u +%FT%TZ)"
  start=$(date +%s)
  chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb CI=true LANG=C.UTF-8 bash -c 'cd /root/netipc && bash .ci/run'
  echo "fresh-machine: run $run passed in $(($(date +%s) - start)) s"
done
