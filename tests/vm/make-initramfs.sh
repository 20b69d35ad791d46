#!/usr/bin/env bash
# Packs the guest: busybox, iproute2's ip and tc, iperf3 and ethtool with
# their libraries, the kernel modules the scenarios need (in dependency
# order), hoplat.ko, the probe, and guest-init.sh as /init.
# Env: KVER KO PROBE ROOT OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
R=$ROOT
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,run,tmp,lib/modules/$KVER,usr/lib/x86_64-linux-gnu/tc}
ln -s /run "$R/run/run" 2>/dev/null || true

cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do
  case $a in ip|tc|busybox) ;; *) ln -sf busybox "$R/bin/$a" ;; esac
done

copy_with_libs() {  # $1 source binary, $2 path in the guest
  install -D -m755 "$1" "$R$2"
  ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$R$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$R$lib"
  done
}
copy_with_libs /bin/ip /sbin/ip
copy_with_libs /usr/sbin/tc /sbin/tc
copy_with_libs /usr/bin/iperf3 /bin/iperf3
copy_with_libs /usr/sbin/ethtool /sbin/ethtool
# The userspace side, when built (HOPLAT_BIN = the CMake build directory).
if [ -n "${HOPLAT_BIN:-}" ] && [ -x "$HOPLAT_BIN/agent/hoplat-agent" ]; then
  copy_with_libs "$HOPLAT_BIN/agent/hoplat-agent" /bin/hoplat-agent
  copy_with_libs "$HOPLAT_BIN/collector/hoplat-collector" /bin/hoplat-collector
  copy_with_libs "$HOPLAT_BIN/tools/hoplat" /bin/hoplat
fi
cp /usr/lib/x86_64-linux-gnu/tc/*.dist "$R/usr/lib/x86_64-linux-gnu/tc/" 2>/dev/null || true

: >"$R/etc/modlist"
for m in veth bridge sch_netem sch_prio sch_tbf sch_htb cls_u32 act_pedit act_csum virtio_pci virtio_net; do
  modprobe -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}' | while read -r ko; do
    grep -qxF "$ko" "$R/etc/modlist" && continue
    install -D -m644 "$ko" "$R$ko"
    echo "$ko" >>"$R/etc/modlist"
  done
done
install -m644 "$KO" "$R/hoplat.ko"
install -m755 "$PROBE" "$R/bin/hoplat-probe"
install -m755 "$here/guest-init.sh" "$R/init"
install -m644 "$here/guest-bench.sh" "$R/bench.sh"
install -m644 "$here/guest-lab.sh" "$R/lab.sh"
install -m644 "$here/guest-lab2.sh" "$R/lab2.sh"

(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$OUT"
