#!/bin/sh
# The compose lab's one-shot module loader (privileged): builds hoplat.ko
# against the host's kernel headers (/lib/modules and /usr/src mounted from
# the host) and loads it, like the driver loaders of other kernel-based
# tools. A loaded hoplat module is left as it is.
set -eu
if grep -q '^hoplat ' /proc/modules; then
  echo "load-module: hoplat is already loaded"
  exit 0
fi
kver=$(uname -r)
if [ ! -d "/lib/modules/$kver/build" ]; then
  echo "load-module: no headers for the host's kernel $kver (install linux-headers-$kver on the host)" >&2
  exit 1
fi
work=$(mktemp -d)
cp -r /src/hoplat/kmod/. "$work/"
make -s -C "$work" KVER="$kver"
# The lab's netem delay needs sch_netem on the host too.
modprobe sch_netem 2>/dev/null || true
insmod "$work/hoplat.ko"
echo "load-module: hoplat loaded into $kver"
