#!/usr/bin/env bash
# The lab: routers r1, r2, r3 in a chain between hosts h1 and h2, as network
# namespaces in a QEMU guest running Debian's 6.1 kernel with the hoplat
# module loaded; one hoplat-agent per router; the collector on this host
# (as it runs off-router in a fleet), reached through QEMU's user
# networking; ping, iperf3 TCP and UDP both ways with a tc netem delay on
# r2 -> r3 (r2's egress queue, or with --wire the wire itself). Ends by printing the path and per-hop tables from the collector
# and the grpcurl commands that ask the same.
usage() {
  cat <<'EOT'
Usage: scripts/lab.sh [options]
  --delay MS         netem delay on r2 -> r3, milliseconds (default 20; 0.2 is 200 us)
  --jitter MS        netem jitter on top of it: each packet's delay is uniform
                     in delay +- jitter (default 0)
  --symmetric        the same netem on r3 -> r2 too (a link as slow both ways)
  --wire             the delay on the wire between r2 and r3 (netem in a bridge
                     between them, where no router sees it) rather than in r2's
                     egress queue (a netem qdisc on r2, which hoplat shows as
                     r2's queueing, not as hop latency)
  --seconds N        traffic time of each kind (ping, TCP, UDP, TCP back; default 10)
  --clocks           give r2's agent a clock 3 ms ahead, r3's one 1.5 ms behind
                     drifting +50 ppm (the agents' lab clock: the routers still
                     share one kernel, so the truth is exact); the collector
                     measures the offsets from the traffic both ways and takes
                     them out of every figure; the clocks table is printed
                     beside the hops
  --two-kernels      the lab on two QEMU guests, each with its own kernel, module,
                     agents and clock (h1, r1 | r2, r3, h2), joined by a QEMU
                     socket link on loopback; the second guest's clock is stepped
                     by 5 ms and runs 50 ppm fast. No netem. Both guests at once.
  --port PORT        port of the collector started on 127.0.0.1 (default 50051)
  --collector ADDR   use this running collector instead of starting one
  --keep             keep the collector it started running at the end, for
                     hoplat and grpcurl, until the next run or --stop (the default)
  --no-keep          stop the collector it started at the end
  --stop             stop the collector a previous run left, and exit
  --prebuilt DIR     use the build in DIR: install nothing, build nothing
  -h, --help         this text
Environment: HOPLAT_LAB_DIR  the collector's database, logs and pid file
                             (default /tmp/hoplat-lab)
Needs: Debian bookworm, root (or sudo) for the first run's package install,
and read access to the kernel image /boot/vmlinuz-* (Debian makes it
root-only): without it the lab says so and exits 77.
Takes a few minutes: build, boot (QEMU, TCG), traffic, correlation.
EOT
}
set -euo pipefail
cd "$(dirname "$0")/.."

two=0 delay=20 jitter=0 symmetric=0 wire=0 seconds=10 port=50051 collector="" keep=1 prebuilt="" stop_only=0 clocks=0
while [ $# -gt 0 ]; do
  case $1 in
    --delay) delay=${2:?}; shift 2 ;;
    --jitter) jitter=${2:?}; shift 2 ;;
    --symmetric) symmetric=1; shift ;;
    --wire) wire=1; shift ;;
    --two-kernels) two=1; shift ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --clocks) clocks=1; shift ;;
    --port) port=${2:?}; shift 2 ;;
    --collector) collector=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-keep) keep=0; shift ;;
    --stop) stop_only=1; shift ;;
    --prebuilt) prebuilt=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "lab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $seconds in ''|*[!0-9]*) echo "lab.sh: --seconds takes a whole number" >&2; exit 2 ;; esac
for v in "$delay" "$jitter"; do
  [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "lab.sh: --delay and --jitter take milliseconds, e.g. 20 or 0.2" >&2; exit 2; }
done
[ "$seconds" -ge 1 ] || { echo "lab.sh: --seconds must be at least 1" >&2; exit 2; }

# The lab's collector: database, logs, pid. A previous run's collector
# (left running for queries) is stopped first: it holds the port.
labdir=${HOPLAT_LAB_DIR:-/tmp/hoplat-lab}
mkdir -p "$labdir"
stop_previous() {
  local old
  old=$(cat "$labdir/collector.pid" 2>/dev/null || true)
  if [ -n "$old" ] && grep -qa hoplat-collector "/proc/$old/cmdline" 2>/dev/null; then
    kill "$old"
    while kill -0 "$old" 2>/dev/null; do sleep 0.1; done
    echo "stopped the previous lab collector (pid $old)"
  fi
  rm -f "$labdir/collector.pid"
}
if [ "$stop_only" = 1 ]; then stop_previous; exit 0; fi
# One progress line, rewritten in place on a terminal.
if [ -t 1 ]; then
  step() { printf '\r\033[K[lab %s] %s' "$(date +%T)" "$*"; }
  done_steps() { printf '\r\033[K'; }
else
  last_step=""
  step() { [ "$*" = "$last_step" ] || echo "[lab $(date +%T)] $*"; last_step="$*"; }
  done_steps() { :; }
fi
die() { done_steps; echo "lab.sh: $*" >&2; exit 1; }

if [ -z "$prebuilt" ]; then
  step "installing packages (scripts/install-deps.sh)"
  scripts/install-deps.sh >"$labdir/install.log" 2>&1 || { cat "$labdir/install.log"; die "package install failed"; }
  step "building (scripts/build.sh build)"
  scripts/build.sh build >"$labdir/build.log" 2>&1 || { tail -30 "$labdir/build.log"; die "build failed"; }
  bin=build
else
  bin=$prebuilt
fi
hoplat() { "$bin/tools/hoplat" --collector "$addr" "$@"; }

pid=""
if [ -z "$collector" ]; then
  addr=127.0.0.1:$port
  stop_previous >/dev/null
  rm -f "$labdir"/hoplat.db*
  step "starting the collector on $addr"
  # All its output to the log: it may outlive this script (and a pipe after it).
  "$bin/collector/hoplat-collector" --listen "$addr" --db "$labdir/hoplat.db" \
    </dev/null >"$labdir/collector.log" 2>&1 &
  pid=$!
  echo $pid >"$labdir/collector.pid"
  # Stopped on failure, and at the end with --no-keep.
  finished=0
  trap 'if [ "$finished" = 0 ] || [ "$keep" = 0 ]; then kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$labdir/collector.pid"; fi' EXIT
else
  addr=$collector
  port=${addr##*:}
fi
# Until it serves (it may have just been started), at most 10 s.
for i in $(seq 100); do
  hoplat --timeout 1s nodes >/dev/null 2>&1 && break
  if [ -n "$pid" ] && ! kill -0 $pid 2>/dev/null; then
    cat "$labdir/collector.log" >&2; die "the collector did not start"
  fi
  [ "$i" = 100 ] && die "no collector answers at $addr"
  sleep 0.1
done

# The guest (guests): their progress lines (HOPLAT_PROGRESS) become ours.
progress_of() {
  [ -f "$1/serial.log" ] && tr -d '\r' <"$1/serial.log" | grep -a '^HOPLAT_PROGRESS' | tail -1 | sed 's/^HOPLAT_PROGRESS //'
}
if [ "$two" = 0 ]; then
  step "booting the guest (QEMU, TCG: about 30 s)"
  vmdir="$bin/vm-lab"
  rm -f "$vmdir/serial.log"  # a previous run's progress is not this one's
  HOPLAT_BIN=$bin TIMEOUT=$((300 + 8 * seconds)) QEMU_NET="-nic user,model=virtio-net-pci" \
    GUEST_ARGS="hoplat.lab=1 hoplat.port=$port hoplat.delay_ms=$delay hoplat.seconds=$seconds hoplat.clocks=$clocks hoplat.jitter_ms=$jitter hoplat.symmetric=$symmetric hoplat.wire=$wire" \
    tests/vm/run.sh standard "$vmdir" >"$labdir/vm.log" 2>&1 &
  vm=$!
  while kill -0 $vm 2>/dev/null; do
    line=$(progress_of "$vmdir" || true)
    [ -n "$line" ] && step "guest: $line"
    sleep 1
  done
  vm_rc=0
  wait $vm || vm_rc=$?
  # 77: the kernel image is not readable (tests/vm/run.sh says so): skipped.
  if [ "$vm_rc" = 77 ]; then done_steps; cat "$labdir/vm.log" >&2; exit 77; fi
  [ "$vm_rc" = 0 ] || { done_steps; cat "$labdir/vm.log"; die "the lab guest failed (serial log: $vmdir/serial.log)"; }
else
  # Guest a listens on the link, guest b connects once it does. One vCPU
  # each: both run at once on two cores.
  free_port() {
    local p
    while :; do
      p=$((20000 + RANDOM % 30000))
      ss -ltun 2>/dev/null | grep -q ":$p " || { echo $p; return; }
    done
  }
  link_port=$(free_port)
  # The guests set their clocks to this host's at boot and time themselves
  # against it: a UDP time server (the guest probe, built for this host).
  time_port=$(free_port)
  mkdir -p "$bin/vm-lab-a"
  gcc -static -pthread -O2 -Wall -Wextra -Werror -Ikmod -o "$bin/vm-lab-a/timeserver" \
    tests/vm/probe.c kmod/pkthash.c || die "building the time server (tests/vm/probe.c) failed"
  "$bin/vm-lab-a/timeserver" timeserver "$time_port" &
  timeserver=$!
  vma="" vmb=""
  trap 'kill $timeserver ${vma:-} ${vmb:-} 2>/dev/null; if [ -n "$pid" ] && { [ "${finished:-0}" = 0 ] || [ "$keep" = 0 ]; }; then kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$labdir/collector.pid"; fi' EXIT
  common="hoplat.port=$port hoplat.seconds=$seconds hoplat.timeport=$time_port hoplat.step_ns=5000000 hoplat.ppm=50"
  step "booting guest a (QEMU, TCG)"
  for g in a b; do rm -f "$bin/vm-lab-$g/serial.log" "$bin/vm-lab-$g/results.txt"; done
  HOPLAT_BIN=$bin TIMEOUT=$((360 + 8 * seconds)) SMP=1 \
    QEMU_NET="-nic user,model=virtio-net-pci -netdev socket,id=link,listen=127.0.0.1:$link_port -device virtio-net-pci,netdev=link,mac=52:54:00:48:4c:0a" \
    GUEST_ARGS="hoplat.lab2=a $common" tests/vm/run.sh standard "$bin/vm-lab-a" >"$labdir/vm-a.log" 2>&1 &
  vma=$!
  i=0
  until ss -ltn 2>/dev/null | grep -q "127.0.0.1:$link_port "; do
    i=$((i + 1))
    # (run.sh builds the module and the initramfs first: minutes on a busy machine)
    if ! kill -0 $vma 2>/dev/null || [ $i -gt 3000 ]; then
      vm_rc=0; wait $vma || vm_rc=$?
      if [ "$vm_rc" = 77 ]; then done_steps; cat "$labdir/vm-a.log" >&2; exit 77; fi
      done_steps; cat "$labdir/vm-a.log"; die "guest a did not start"
    fi
    sleep 0.1
  done
  step "booting guest b (QEMU, TCG)"
  HOPLAT_BIN=$bin TIMEOUT=$((360 + 8 * seconds)) SMP=1 \
    QEMU_NET="-nic user,model=virtio-net-pci -netdev socket,id=link,connect=127.0.0.1:$link_port -device virtio-net-pci,netdev=link,mac=52:54:00:48:4c:0b" \
    GUEST_ARGS="hoplat.lab2=b $common" tests/vm/run.sh standard "$bin/vm-lab-b" >"$labdir/vm-b.log" 2>&1 &
  vmb=$!
  while kill -0 $vma 2>/dev/null || kill -0 $vmb 2>/dev/null; do
    step "guest $(progress_of "$bin/vm-lab-a" || echo a: booting) | guest $(progress_of "$bin/vm-lab-b" || echo b: booting)"
    sleep 1
  done
  for g in a b; do
    vm_rc=0
    if [ $g = a ]; then wait $vma || vm_rc=$?; else wait $vmb || vm_rc=$?; fi
    [ "$vm_rc" = 0 ] || { done_steps; cat "$labdir/vm-$g.log"; die "lab guest $g failed (serial log: $bin/vm-lab-$g/serial.log)"; }
  done
  vmdir="$bin/vm-lab-a"
fi

# The agents delivered everything before the guest stopped; correlation
# finishes moments after they disconnect: wait until the counts settle.
step "correlating"
last="" same=0
for _ in $(seq 120); do
  now=$(hoplat hops 2>/dev/null | awk '$2 == ">" { print $1, $3, $4 }' | tr '\n' ' ' || true)
  if [ -n "$now" ] && [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
  [ $same -ge 2 ] && break
  last=$now
  sleep 0.5
done
done_steps

netem="delay ${delay} ms"; [ "$jitter" = 0 ] || netem="$netem +- ${jitter} ms"
ways="r2 -> r3"; [ "$symmetric" = 0 ] || ways="r2 -> r3 and r3 -> r2"
if [ "$wire" = 1 ]; then
  where="on the wire (a bridge between r2 and r3 that no router sees)"
else
  where="in r2's egress queue toward r3 (a qdisc: hoplat shows it as r2's queueing, not in the hop)"
fi
if [ "$two" = 1 ]; then
  echo "The lab on two kernels: guest a runs h1 and r1, guest b r2, r3 and h2, each with its own"
  echo "kernel, module, agents and clock, joined r1 - r2 by a QEMU socket link; no netem."
  echo "(Guest b's clock was stepped 5 ms ahead at boot and runs 50 ppm fast: r2 and r3 share"
  echo "its clock domain, r1 has guest a's. The collector measures r2 - r1 from the packets both"
  echo "ways (== clocks ==) and takes it out of every figure that crosses the link.)"
  grep -ah '^HOPLAT_INFO hostclock' "$bin/vm-lab-a/results.txt" "$bin/vm-lab-b/results.txt" | sed 's/^HOPLAT_INFO /  /' || true
else
echo "The lab: h1 - r1 - r2 - r3 - h2, tc netem $netem on $ways, ${seconds} s of each traffic kind;"
echo "the delay is $where."
fi
if [ "$two" = 1 ]; then :
elif [ "$clocks" = 1 ]; then
  echo "(--clocks: r2's agent reads a clock 3 ms ahead of r1's, r3's one 1.5 ms behind and"
  echo "running 50 ppm fast; each reports a clock domain of its own. By arrival time r2 would come"
  echo "after r3; the TTL keeps the paths in order. The collector measures each pair's offset"
  echo "from the packets both ways (== clocks ==) and takes it out of every figure below; the"
  echo "clock bound says how well it is known."
  if [ "$wire" = 0 ]; then
    echo "The netem delay is r2's queue, timed inside r2: the wire itself is as fast both ways.)"
  elif [ "$symmetric" = 0 ]; then
    echo "On the wire r2 - r3 the netem delay runs one way only, so no method can tell it from"
    echo "an offset: the estimate is off by half the delay, the bound covers it, and the figures"
    echo "it makes uncertain say UNCERTAIN.)"
  else
    echo "The netem delay runs both ways on the wire r2 - r3: the estimate is exact to within the"
    echo "bound.)"
  fi
else
  echo "(The three routers are namespaces of one guest kernel: their agents report its boot id"
  echo "as their clock domain, so the collector knows they read one clock and every bound below"
  echo "is ±0, shared clock, although the guest runs no NTP.)"
fi
grep -a '^HOPLAT_INFO \(ping\|iperf\)' "$vmdir/results.txt" | sed 's/^HOPLAT_INFO /  /' || true
echo
echo "== nodes =="; hoplat nodes
echo; echo "== paths (first arrival to last exit) =="; hoplat paths
echo; echo "== path latency r1 -> r3 (h1 -> h2: expect ~${delay} ms, the netem delay on r2 -> r3) =="
hoplat path r1 r3
if [ "$symmetric" = 0 ]; then
  echo; echo "== path latency r3 -> r1 (h2 -> h1: no delay added) =="
else
  echo; echo "== path latency r3 -> r1 (h2 -> h1: the same netem delay) =="
fi
hoplat path r3 r1
echo; echo "== per hop (the wire), residence (forwarding) and egress queue in each router =="; hoplat hops
if [ "$clocks" = 1 ] || [ "$two" = 1 ]; then echo; echo "== clocks: b - a, measured from traffic both ways =="; hoplat clocks; fi
slowest=$(hoplat paths | awk '/^r1 > r2 > r3 / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9a-f]{16}$/) print $i }' || true)
if [ -n "$slowest" ]; then echo; echo "== the slowest packet r1 -> r3 =="; hoplat trace "$slowest"; fi

cat <<EOT

Collector: $addr   ${pid:+database: $labdir/hoplat.db   }guest serial log: $vmdir/serial.log
The same questions with grpcurl (server reflection is on):
  grpcurl -plaintext $addr list hoplat.v1.Query
  grpcurl -plaintext -d '{"from_node":"r1","to_node":"r3"}' $addr hoplat.v1.Query/PathLatency
  grpcurl -plaintext $addr hoplat.v1.Query/HopLatency
  grpcurl -plaintext $addr hoplat.v1.Query/ListPaths
EOT
if [ -n "$pid" ] && [ "$keep" = 1 ]; then
  echo "The collector keeps running (pid $pid) for these; scripts/lab.sh --stop stops it."
elif [ -n "$pid" ]; then
  echo "(the collector stops now)"
fi
finished=1
