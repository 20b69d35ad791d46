# The lab (sourced by guest-init.sh when the kernel command line has
# hoplat.lab=1): the compose lab's topology as network namespaces,
#
#   h1 -- r1 -- r2 -- r3 -- h2      (netem delay on r2 -> r3, and back with
#                                     hoplat.symmetric=1)
#
# The delay is r2's egress qdisc on r2-r3 (a queue, which hoplat times), or
# with hoplat.wire=1 the wire's: a bridge in namespace w between r2 and r3,
# with netem on its port toward r3 (no router's hook sees a bridged frame).
#
# one hoplat-agent per router reaching the collector on the host through
# QEMU's user networking (10.0.2.2 is the host's loopback), traffic both
# ways, then the agents are stopped (they deliver everything) and the
# guest powers off. Parameters from the command line: hoplat.port=
# (collector port on the host), hoplat.delay_ms=, hoplat.jitter_ms=,
# hoplat.symmetric=, hoplat.seconds= (traffic), hoplat.clocks= (lab clocks).
arg() { sed -n "s/.*hoplat\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
port=$(arg port); delay=$(arg delay_ms); secs=$(arg seconds); clocks=$(arg clocks)
jitter=$(arg jitter_ms); symmetric=$(arg symmetric); wire=$(arg wire)
progress() { echo "HOPLAT_PROGRESS $*"; }
lab_fail() { echo "HOPLAT_RESULT FAIL ($*)"; sync; poweroff -f; }

# The way out to the collector: the guest's NIC, in the root namespace.
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 ||
  lab_fail "no network device"

progress "topology h1 - r1 - r2 - r3 - h2"
spaces="h1 r1 r2 r3 h2"; [ "$wire" = 1 ] && spaces="$spaces w"
for n in $spaces; do ip netns add $n; ip -n $n link set lo up; done
link() { ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"; }
link h1 eth0 r1 r1-h1; link r1 r1-r2 r2 r2-r1; link h2 eth0 r3 r3-h2
if [ "$wire" = 1 ]; then
  link r2 r2-r3 w w-r2; link r3 r3-r2 w w-r3
  ip -n w link add br0 type bridge || lab_fail "no bridge"
  ip -n w link set w-r2 master br0 && ip -n w link set w-r3 master br0 || lab_fail "no bridge ports"
else
  link r2 r2-r3 r3 r3-r2
fi
addr() { ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" addr add "$4" dev "$2" nodad; }
# The compose lab's addresses (docker-compose.yml), link by link.
addr h1 eth0 192.0.2.2/26 2001:db8:1::2/64;       addr r1 r1-h1 192.0.2.3/26 2001:db8:1::3/64
addr r1 r1-r2 198.51.100.2/26 2001:db8:2::2/64;   addr r2 r2-r1 198.51.100.3/26 2001:db8:2::3/64
addr r2 r2-r3 198.51.100.66/26 2001:db8:3::66/64; addr r3 r3-r2 198.51.100.67/26 2001:db8:3::67/64
addr r3 r3-h2 203.0.113.2/26 2001:db8:4::2/64;    addr h2 eth0 203.0.113.3/26 2001:db8:4::3/64
for n in $spaces; do
  for d in $(ip -n $n -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do ip -n $n link set "$d" up; done
done
for r in r1 r2 r3; do ip netns exec $r sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; done
route() { ip -n "$1" route add "$2" via "$3"; ip -n "$1" -6 route add "$4" via "$5"; }
route h1 default 192.0.2.3 default 2001:db8:1::3
route h2 default 203.0.113.2 default 2001:db8:4::2
route r1 default 198.51.100.3 default 2001:db8:2::3
route r3 default 198.51.100.66 default 2001:db8:3::66
route r2 192.0.2.0/26 198.51.100.2 2001:db8:1::/64 2001:db8:2::2
route r2 203.0.113.0/26 198.51.100.67 2001:db8:4::/64 2001:db8:3::67
ip netns exec h1 ping -c 1 -W 5 203.0.113.3 >/dev/null 2>&1 || lab_fail "h1 cannot reach h2"
ip netns exec h1 ping -6 -c 1 -W 5 2001:db8:4::3 >/dev/null 2>&1 || lab_fail "h1 cannot reach h2 over IPv6"
netem="delay ${delay}ms"; [ "${jitter:-0}" = 0 ] || netem="$netem ${jitter}ms"
if [ "$wire" = 1 ]; then
  tc -n w qdisc add dev w-r3 root netem $netem limit 100000
  # hoplat.symmetric=1: the link as slow the other way too.
  if [ "$symmetric" = 1 ]; then tc -n w qdisc add dev w-r2 root netem $netem limit 100000; fi
else
  tc -n r2 qdisc add dev r2-r3 root netem $netem limit 100000
  if [ "$symmetric" = 1 ]; then tc -n r3 qdisc add dev r3-r2 root netem $netem limit 100000; fi
fi

progress "agents r1 r2 r3 -> collector 10.0.2.2:$port"
for r in r1 r2 r3; do
  # hoplat.clocks=1: r2 reads 3 ms ahead, r3 1.5 ms behind running 50 ppm
  # fast (the lab clock).
  lab_clock=""
  if [ "$clocks" = 1 ]; then
    case $r in
      r2) lab_clock="--clock_offset=3ms" ;;
      r3) lab_clock="--clock_offset=-1.5ms --clock_drift_ppm=50" ;;
    esac
  fi
  # /sbin/ip itself (not the ip() function), so that $! is the agent.
  /sbin/ip netns exec $r hoplat-agent --collector "10.0.2.2:$port" --node_id $r $lab_clock \
    --collector_netns /proc/1/ns/net --paths forward --sample_one_in 1 \
    --spool_dir /tmp/spool-$r --flush_interval 100ms --report_interval 2s >/tmp/agent-$r.log 2>&1 &
  echo $! >/tmp/agent-$r.pid
done
i=0; until [ "$(hoplat --collector "10.0.2.2:$port" --timeout 2s nodes 2>/dev/null | grep -cE '^r[123] .* yes ')" = 3 ]; do
  i=$((i + 1)); [ $i -gt 600 ] && { cat /tmp/agent-*.log; lab_fail "agents did not connect"; }; sleep 0.1; done

progress "traffic h1 <-> h2: ping, iperf3 TCP and UDP, ${secs}s each, ${delay} ms on r2 -> r3"
ip netns exec h2 iperf3 -s -D >/dev/null 2>&1
# Listening on port 5201 (0x1451); iperf3 listens on IPv6, where the
# addresses are 32 hex digits.
i=0; until ip netns exec h2 grep -qE ':1451 0+:0000 0A' /proc/net/tcp6 /proc/net/tcp 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05; done
# Pings all along (50 a second each, for the three iperf3 runs): traffic
# both ways on every link whatever iperf3 does, as on a real router, for
# the clocks' passive estimate.
count=$((secs * 3 * 50))
ip netns exec h1 ping -c $count -i 0.02 -W 5 203.0.113.3 >/tmp/ping4 2>&1 &
p4=$!
ip netns exec h1 ping -6 -c $count -i 0.02 -W 5 2001:db8:4::3 >/tmp/ping6 2>&1 &
p6=$!
ip netns exec h1 iperf3 -c 203.0.113.3 -t "$secs" -b 20M >/tmp/iperf-tcp 2>&1 || echo "HOPLAT_INFO iperf3 TCP failed"
ip netns exec h1 iperf3 -c 2001:db8:4::3 -u -b 5M -t "$secs" >/tmp/iperf-udp 2>&1 || echo "HOPLAT_INFO iperf3 UDP failed"
ip netns exec h1 iperf3 -c 203.0.113.3 -R -t "$secs" -b 20M >/tmp/iperf-rev 2>&1 || echo "HOPLAT_INFO iperf3 TCP reverse failed"
wait $p4 $p6
for f in ping4 ping6; do echo "HOPLAT_INFO $f: $(grep -E 'packets|round-trip' /tmp/$f | tr '\n' ' ')"; done
for f in iperf-tcp iperf-udp iperf-rev; do
  echo "HOPLAT_INFO $f: $(grep -E 'receiver' /tmp/$f | tail -1 | tr -s ' ')"
done

progress "stopping the agents (they deliver what they hold)"
rc=0
for r in r1 r2 r3; do
  kill -TERM "$(cat /tmp/agent-$r.pid)"
done
for r in r1 r2 r3; do
  wait "$(cat /tmp/agent-$r.pid)"; arc=$?
  echo "HOPLAT_INFO agent $r: exit $arc, $(tail -1 /tmp/agent-$r.log)"
  echo "HOPLAT_INFO module $r: $(ip netns exec $r hoplat-probe counters 2>&1)"
  # Delivered means: a clean exit and nothing left in the spool.
  [ $arc = 0 ] && [ -z "$(ls /tmp/spool-$r | grep batch)" ] || rc=1
done
[ $rc = 0 ] || { cat /tmp/agent-*.log; lab_fail "an agent did not deliver everything"; }
echo "HOPLAT_RESULT PASS"
sync; poweroff -f
