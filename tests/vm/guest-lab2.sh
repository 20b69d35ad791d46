# The lab on two kernels (sourced by guest-init.sh when the kernel command
# line has hoplat.lab2=a or b): the lab's topology split between two QEMU
# guests, each with its own kernel, module, agents and clock, joined by a
# QEMU socket link (the guests' second NIC, eth1) between r1 and r2:
#
#   guest a: h1 -- r1 ==eth1== guest b: r2 -- r3 -- h2
#
# At boot each guest sets its clock to the host's (hoplat-probe hostclock
# sync, the lab's UDP time server on hoplat.timeport: QEMU guests start a
# second or so apart, more than a packet's window); then guest b's clock is
# stepped by hoplat.step_ns and given a frequency offset of hoplat.ppm.
# Each guest measures its clock against the host's again before and after
# the traffic: the truth the host holds the collector's estimate to.
# Parameters: hoplat.port= (collector), hoplat.seconds= (traffic).
arg() { sed -n "s/.*hoplat\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
role=$(arg lab2); port=$(arg port); secs=$(arg seconds); tport=$(arg timeport)
step_ns=$(arg step_ns); ppm=$(arg ppm)
progress() { echo "HOPLAT_PROGRESS $role: $*"; }
lab_fail() { echo "HOPLAT_RESULT FAIL ($role: $*)"; sync; poweroff -f; }
collector="10.0.2.2:$port"
connected() { hoplat --collector "$collector" --timeout 2s nodes 2>/dev/null | grep -cE "^($1) .* yes "; }
hostclock() { echo "HOPLAT_INFO hostclock $1 $("$P" hostclock 10.0.2.2 "$tport" 200 $2)"; }

ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 ||
  lab_fail "no network device"
hostclock boot sync
[ -e /sys/class/net/eth1 ] || lab_fail "no link to the other guest (eth1)"
link() { ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"; }
addr() { ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" addr add "$4" dev "$2" nodad; }
route() { ip -n "$1" route add "$2" via "$3"; ip -n "$1" -6 route add "$4" via "$5"; }
up_all() {
  for n in "$@"; do
    for d in $(ip -n $n -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do ip -n $n link set "$d" up; done
  done
}

# The compose lab's addresses (docker-compose.yml), split at r1 - r2.
if [ "$role" = a ]; then
  routers="r1"
  progress "topology h1 - r1 == (socket link)"
  for n in h1 r1; do ip netns add $n; ip -n $n link set lo up; done
  link h1 eth0 r1 r1-h1
  ip link set eth1 netns r1 && ip -n r1 link set eth1 name r1-r2 || lab_fail "eth1 into r1"
  addr h1 eth0 192.0.2.2/26 2001:db8:1::2/64;     addr r1 r1-h1 192.0.2.3/26 2001:db8:1::3/64
  addr r1 r1-r2 198.51.100.2/26 2001:db8:2::2/64
  up_all h1 r1
  ip netns exec r1 sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  route h1 default 192.0.2.3 default 2001:db8:1::3
  route r1 default 198.51.100.3 default 2001:db8:2::3
else
  routers="r2 r3"
  # A clock of its own: stepped and running fast, from boot on.
  echo "HOPLAT_INFO $("$P" clockset "$step_ns" "$ppm")"
  progress "topology (socket link) == r2 - r3 - h2"
  for n in r2 r3 h2; do ip netns add $n; ip -n $n link set lo up; done
  ip link set eth1 netns r2 && ip -n r2 link set eth1 name r2-r1 || lab_fail "eth1 into r2"
  link r2 r2-r3 r3 r3-r2; link h2 eth0 r3 r3-h2
  addr r2 r2-r1 198.51.100.3/26 2001:db8:2::3/64
  addr r2 r2-r3 198.51.100.66/26 2001:db8:3::66/64; addr r3 r3-r2 198.51.100.67/26 2001:db8:3::67/64
  addr r3 r3-h2 203.0.113.2/26 2001:db8:4::2/64;    addr h2 eth0 203.0.113.3/26 2001:db8:4::3/64
  up_all r2 r3 h2
  for r in r2 r3; do ip netns exec $r sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; done
  route h2 default 203.0.113.2 default 2001:db8:4::2
  route r3 default 198.51.100.66 default 2001:db8:3::66
  route r2 192.0.2.0/26 198.51.100.2 2001:db8:1::/64 2001:db8:2::2
  route r2 203.0.113.0/26 198.51.100.67 2001:db8:4::/64 2001:db8:3::67
  ip netns exec h2 iperf3 -s -D >/dev/null 2>&1
fi

progress "agents $routers -> collector $collector"
for r in $routers; do
  /sbin/ip netns exec $r hoplat-agent --collector "$collector" --node_id $r \
    --collector_netns /proc/1/ns/net --paths forward --sample_one_in 1 \
    --spool_dir /tmp/spool-$r --flush_interval 100ms --report_interval 2s >/tmp/agent-$r.log 2>&1 &
  echo $! >/tmp/agent-$r.pid
done
# Until all three routers, of both guests, are connected.
i=0; until [ "$(connected 'r1|r2|r3')" = 3 ]; do
  i=$((i + 1)); [ $i -gt 1200 ] && { cat /tmp/agent-*.log; lab_fail "agents did not connect"; }; sleep 0.1; done
hostclock start

if [ "$role" = a ]; then
  i=0; until ip netns exec h1 ping -c 1 -W 1 203.0.113.3 >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 60 ] && lab_fail "h1 cannot reach h2 across the guests"; done
  ip netns exec h1 ping -6 -c 1 -W 5 2001:db8:4::3 >/dev/null 2>&1 || lab_fail "no IPv6 across the guests"
  progress "traffic h1 <-> h2 across the guests: ping both ways, iperf3 TCP, ${secs}s"
  count=$((secs * 2 * 50))
  ip netns exec h1 ping -c $count -i 0.02 -W 5 203.0.113.3 >/tmp/ping4 2>&1 &
  p4=$!
  ip netns exec h1 ping -6 -c $count -i 0.02 -W 5 2001:db8:4::3 >/tmp/ping6 2>&1 &
  p6=$!
  ip netns exec h1 iperf3 -c 203.0.113.3 -t "$secs" -b 10M >/tmp/iperf-tcp 2>&1 || echo "HOPLAT_INFO iperf3 TCP failed"
  wait $p4 $p6
  for f in ping4 ping6; do echo "HOPLAT_INFO $f: $(grep -E 'packets|round-trip' /tmp/$f | tr '\n' ' ')"; done
  echo "HOPLAT_INFO iperf-tcp: $(grep -E 'receiver' /tmp/iperf-tcp | tail -1 | tr -s ' ')"
else
  # Until guest a's traffic is over: its router leaves.
  progress "routing for guest a until r1 leaves"
  i=0; until [ "$(connected r1)" = 0 ]; do
    i=$((i + 1)); [ $i -gt 3000 ] && lab_fail "r1 never left"; sleep 0.1; done
fi
hostclock end

progress "stopping the agents (they deliver what they hold)"
rc=0
for r in $routers; do kill -TERM "$(cat /tmp/agent-$r.pid)"; done
for r in $routers; do
  wait "$(cat /tmp/agent-$r.pid)"; arc=$?
  echo "HOPLAT_INFO agent $r: exit $arc, $(tail -1 /tmp/agent-$r.log)"
  [ $arc = 0 ] && [ -z "$(ls /tmp/spool-$r | grep batch)" ] || rc=1
done
[ $rc = 0 ] || { cat /tmp/agent-*.log; lab_fail "an agent did not deliver everything"; }
echo "HOPLAT_RESULT PASS"
sync; poweroff -f
