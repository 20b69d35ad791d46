#!/usr/bin/env bash
# The module's figures inside a QEMU guest (Debian's standard 6.1 kernel):
# drain rate through /dev/hoplat with 1 MiB reads and with one record per
# read, and iperf3 through two routers with and without the module
# (3 interleaved rounds). Run twice: with QEMU's full CPU model, whose
# emulated `rep movsb` makes the kernel's copy_to_user slow, and with
# ERMS/FSRM hidden so that the kernel copies with wider moves.
# Usage: bench/vm_bench.sh [OUTDIR]   (after scripts/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/vm-bench}
for cpu in max max,-erms,-fsrm; do
  echo "== guest CPU: $cpu =="
  QEMU_CPU=$cpu GUEST_ARGS=hoplat.bench=1 TIMEOUT=400 tests/vm/run.sh standard "$out" | grep FIGURE
done
