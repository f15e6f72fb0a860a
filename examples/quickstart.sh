#!/usr/bin/env bash
# The main job on a fresh machine, offline: install what tsbuild needs, build it, make a busybox base image
# from Debian's busybox-static, load it into the embedded store, list, inspect and save it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-deps.sh
npm install --no-audit --no-fund
tsbuild() { node cli/bin/tsbuild.js "$@"; }
out=${TSBUILD_QUICKSTART_DIR:-/tmp/tsbuild-quickstart}
mkdir -p "$out"
set -x
bash examples/make-busybox-archive.sh "$out/busybox.docker.tar" busybox:latest
tsbuild load -i "$out/busybox.docker.tar"
tsbuild images
tsbuild history busybox
tsbuild inspect busybox
tsbuild save --format oci-archive -o "$out/busybox.oci.tar" busybox
tar -tvf "$out/busybox.oci.tar"
tsbuild df
tsbuild check
