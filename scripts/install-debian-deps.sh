#!/usr/bin/env bash
# Installs the Debian packages tsbuild's tests, examples and benchmarks use (as root, with apt-get).
# Oracles: skopeo, umoci, podman, buildah, runc. Test fixtures: busybox-static, docker-registry, openssl,
# apache2-utils (htpasswd). Runtime helpers: tini (PID 1 for RUN), util-linux, pigz/zstd (benchmark floors).
set -euo pipefail
packages=(
  skopeo umoci podman buildah runc
  busybox-static docker-registry openssl apache2-utils ca-certificates
  tini util-linux iproute2 libcap2-bin attr
  tar gzip pigz zstd hyperfine python3 debootstrap time
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-debian-deps: run as root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install-debian-deps: installed ${missing[*]}"
