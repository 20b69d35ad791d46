#!/usr/bin/env bash
# Builds hoplat.ko for one Debian kernel flavour, packs it with the guest
# tools into an initramfs, boots that kernel in QEMU (TCG) and runs the
# scenarios of guest-init.sh. Exit 0 iff every scenario passed; 77 (ctest's
# skip) when the kernel image is not readable, which Debian makes root-only.
#   tests/vm/run.sh standard|rt OUTDIR
# Env: TIMEOUT (seconds, default 420), KEEP_LOG=1 prints the whole serial log,
# GUEST_ARGS=hoplat.bench=1 runs guest-bench.sh instead of the scenarios,
# GUEST_ARGS="hoplat.lab=1 ..." the lab (guest-lab.sh; scripts/lab.sh does
# this), GUEST_ARGS="hoplat.lab2=a|b ..." one guest of the two-kernel lab,
# QEMU_NET extra QEMU network options (the lab's NICs), SMP vCPUs (default 2).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
flavour=${1:?standard or rt}
out=${2:?output directory}

case $flavour in
  standard) pattern='^linux-headers-(.*-amd64)$'; exclude='-(rt|cloud)-amd64$' ;;
  rt) pattern='^linux-headers-(.*-rt-amd64)$'; exclude='-cloud-amd64$' ;;
  *) echo "unknown flavour $flavour"; exit 2 ;;
esac
kver=$(ls /usr/src | sed -nE "s/$pattern/\1/p" | grep -vE -- "$exclude" | sort -V | tail -1)
if [ -z "$kver" ] || [ ! -e "/boot/vmlinuz-$kver" ]; then
  echo "no $flavour kernel with headers installed (scripts/install-deps.sh installs them)"
  exit 2
fi
if [ ! -r "/boot/vmlinuz-$kver" ]; then
  echo "cannot read /boot/vmlinuz-$kver (root-only on Debian): VM tests skipped; run as root to include them"
  exit 77
fi
echo "kernel $kver"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The module, built in a copy so that both flavours (and the source tree) stay apart.
rm -rf "$out/kmod" && mkdir -p "$out/kmod"
cp -r "$top/kmod/"*.c "$top/kmod/"*.h "$top/kmod/Kbuild" "$top/kmod/Makefile" "$top/kmod/include" "$out/kmod/"
if ! make -s -C "$out/kmod" KVER="$kver" >"$out/kmod-build.log" 2>&1; then
  cat "$out/kmod-build.log"; echo "module build failed"; exit 2
fi
if grep -i warning "$out/kmod-build.log" | grep -qv BTF; then
  cat "$out/kmod-build.log"; echo "module build has warnings"; exit 2
fi
gcc -static -pthread -O2 -Wall -Wextra -Werror -I"$top/kmod" -o "$out/hoplat-probe" \
  "$here/probe.c" "$top/kmod/pkthash.c" || { echo "probe build failed"; exit 2; }

KVER=$kver KO="$out/kmod/hoplat.ko" PROBE="$out/hoplat-probe" ROOT="$out/initramfs" \
  OUT="$out/initramfs.cpio.gz" "$here/make-initramfs.sh" || { echo "initramfs failed"; exit 2; }

log="$out/serial.log"
timeout -k 5 "${TIMEOUT:-420}" qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-max}" -m 1024 -smp "${SMP:-2}" \
  -nographic -no-reboot ${QEMU_NET:-} -kernel "/boot/vmlinuz-$kver" -initrd "$out/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet ${GUEST_ARGS:-}" </dev/null >"$log" 2>&1
qrc=$?
tr -d '\r' <"$log" | grep -aoE '(HOPLAT_[A-Z]+|FIGURE).*' | tee "$out/results.txt"
[ "${KEEP_LOG:-0}" = 1 ] && cat "$log"
if [ $qrc = 124 ] || [ $qrc = 137 ]; then echo "TIMEOUT (serial log: $log)"; exit 3; fi
if grep -q 'HOPLAT_RESULT PASS' "$out/results.txt"; then exit 0; fi
# Again at the end: a CI that keeps only the tail of the output still names them.
grep -a 'HOPLAT_TEST .* FAIL' "$out/results.txt"
echo "FAILED (serial log: $log)"
exit 1
