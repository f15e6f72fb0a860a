#!/usr/bin/env bash
# Makes the base images of the build benchmark offline, into a tsbuild store (as root):
#   busybox:latest          one layer: Debian's busybox-static with a symlink per applet, passwd/group/shadow,
#                           /tmp 1777, fixed mtimes; CMD ["sh"], ENV PATH
#   debian:bookworm-slim    one layer: `debootstrap --variant=minbase bookworm` from the apt mirror configured on
#                           this machine, apt lists/caches and /dev removed; CMD ["bash"], ENV PATH
#
#   bench/build/base-images.sh WORKDIR [busybox] [debian]      (default: both)
#
# The store is WORKDIR/store; root filesystems are staged in WORKDIR and removed once imported. An image already
# in the store is kept (FORCE=1 remakes it). The benchmark pushes them from there to its loopback registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:?usage: base-images.sh WORKDIR [busybox] [debian]}
shift
mkdir -p "$work"
store="$work/store"
tsbuild() { "$repo/cli/bin/tsbuild" --root "$store" "$@"; }
path_env='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

have() { tsbuild inspect "$1" >/dev/null 2>&1; }

make_busybox() {
  if [ -z "${FORCE:-}" ] && have busybox:latest; then return; fi
  local busybox
  busybox=$(command -v busybox || true)
  [ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || {
    echo "base-images: a static busybox is needed (apt-get install busybox-static)" >&2
    exit 1
  }
  local r="$work/busybox-rootfs"
  rm -rf "$r"
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,home,var/tmp,var/log,dev,proc,sys}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 0700 "$r/root"
  install -m 0755 "$busybox" "$r/bin/busybox"
  "$r/bin/busybox" --list-full | while read -r applet; do
    [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$r/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
    'nobody:x:65534:65534:nobody:/home:/bin/false' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'wheel:x:10:root' 'nogroup:x:65534:' >"$r/etc/group"
  echo 'root:*::0:::::' >"$r/etc/shadow"
  chmod 0640 "$r/etc/shadow"
  echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
  find "$r" -exec touch -h -d '2024-01-01 00:00:00Z' {} +
  tsbuild import -c 'CMD ["sh"]' -c "ENV $path_env" -m 'busybox from busybox-static' "$r" busybox:latest >/dev/null
  rm -rf "$r"
}

apt_mirror() {
  # the first Debian (not -security) URI of the apt sources, deb822 or one-line format
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ' || true
}

make_debian() {
  if [ -z "${FORCE:-}" ] && have debian:bookworm-slim; then return; fi
  command -v debootstrap >/dev/null || { echo "base-images: apt-get install debootstrap" >&2; exit 1; }
  local mirror
  mirror=$(apt_mirror)
  [ -n "$mirror" ] || { echo "base-images: no Debian mirror in the apt sources" >&2; exit 1; }
  local r="$work/debian-rootfs"
  rm -rf "$r"
  echo "base-images: debootstrap --variant=minbase bookworm from $mirror (about 30 s)" >&2
  if ! debootstrap --variant=minbase bookworm "$r" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -5 "$work/debootstrap.log" >&2
    exit 1
  fi
  rm -rf "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log \
    "$r"/var/cache/ldconfig/aux-cache "$r"/dev/* "$r"/run/* "$r"/tmp/*
  mkdir -p "$r/var/lib/apt/lists/partial"
  echo "deb $mirror bookworm main" >"$r/etc/apt/sources.list"
  tsbuild import -c 'CMD ["bash"]' -c "ENV $path_env" -m 'debootstrap --variant=minbase bookworm' "$r" debian:bookworm-slim >/dev/null
  rm -rf "$r"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(busybox debian)
for target in "${targets[@]}"; do
  case $target in
    busybox) make_busybox ;;
    debian) make_debian ;;
    *) echo "base-images: unknown image $target" >&2; exit 2 ;;
  esac
done
