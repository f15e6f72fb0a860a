#!/usr/bin/env bash
# The main job on a fresh machine, offline: install what tsbuild needs, build it, make a busybox base image from
# Debian's busybox-static, build examples/hello on it with RUN and COPY, run it, and show its history.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-deps.sh
npm install --no-audit --no-fund
tsbuild() { cli/bin/tsbuild "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set -x
bash examples/make-busybox-rootfs.sh "$work/rootfs"
tsbuild import "$work/rootfs" busybox:latest --change 'CMD ["sh"]'
tsbuild -t hello:1 examples/hello
tsbuild run hello:1
tsbuild history hello:1
tsbuild images
