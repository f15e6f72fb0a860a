#!/usr/bin/env bash
# Makes a busybox root filesystem in DIR from Debian's busybox-static: the static /bin/busybox, a symlink per
# applet, /etc/passwd and /etc/group (root, nobody), /root and a world-writable /tmp. No network needed.
# Usage: make-busybox-rootfs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
chmod 1777 "$dir/tmp"
