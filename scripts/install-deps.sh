#!/usr/bin/env bash
# Installs every build and test dependency of hoplat from Debian bookworm
# packages. Idempotent: does nothing (and needs no network) when all is there.
#   scripts/install-deps.sh              everything (build, tests, the VM lab)
#   scripts/install-deps.sh --userspace  only what building the userspace needs
#                                        (the Docker image)
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libnl-3-dev libnl-genl-3-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [ "${1:-}" != "--userspace" ]; then
  packages+=(
    docker-compose
    # The kernel module and its tests in a QEMU guest: Debian's 6.1 kernels
    # (standard and PREEMPT_RT) with their headers, QEMU, and the guest's tools.
    linux-image-amd64 linux-headers-amd64 linux-image-rt-amd64 linux-headers-rt-amd64
    qemu-system-x86 busybox-static kmod cpio iproute2 iperf3 ethtool gcc make libc6-dev
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
