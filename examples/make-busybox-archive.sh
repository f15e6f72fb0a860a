#!/usr/bin/env bash
# Makes a one-layer busybox image offline from Debian's busybox-static (static /bin/busybox plus a symlink per
# applet, /etc/passwd, /etc/group, /tmp) with umoci, and writes it as a docker-archive with skopeo.
# Usage: make-busybox-archive.sh OUT.tar [NAME:TAG]
set -euo pipefail
out=$1
name=${2:-busybox:latest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umoci init --layout "$work/layout"
umoci new --image "$work/layout:img"
umoci unpack --image "$work/layout:img" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
umoci repack --image "$work/layout:img" "$work/bundle"
umoci config --image "$work/layout:img" --config.cmd sh \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
rm -f "$out"
skopeo copy -q "oci:$work/layout:img" "docker-archive:$out:$name"
