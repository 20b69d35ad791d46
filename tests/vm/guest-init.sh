#!/bin/busybox sh
# /init of the test guest. Builds h1 -- r1 -- r2 -- h2 (the lab's topology
# minus r3; hoplat.lab=1 runs the lab, guest-lab.sh, instead) as network
# namespaces joined by veth, runs the scenarios, prints HOPLAT_TEST <name> PASS|FAIL lines and a final
# HOPLAT_RESULT, and powers off.
export PATH=/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns
ip() { /sbin/ip "$@"; }   # busybox sh prefers its own applets; iproute2 has netns
tc() { /sbin/tc "$@"; }
P=/bin/hoplat-probe
FAILS=0
FAILED=""
pass() { echo "HOPLAT_TEST $1 PASS ${2:-}"; }
fail() { echo "HOPLAT_TEST $1 FAIL ${2:-}"; FAILS=$((FAILS + 1)); FAILED="$FAILED $1"; }
check() { # name condition-result(0/1) detail
  if [ "$2" = 0 ]; then pass "$1" "$3"; else fail "$1" "$3"; fi
}
finish() {
  dmesg | grep -E 'BUG|WARNING|Oops|lockup|leak|hoplat' | sed 's/^/HOPLAT_DMESG /'
  if dmesg | grep -qE 'BUG:|WARNING:|Oops|soft lockup|hard LOCKUP|unreferenced object'; then
    fail dmesg_clean
  else
    pass dmesg_clean
  fi
  if [ $FAILS = 0 ]; then echo "HOPLAT_RESULT PASS"; else echo "HOPLAT_RESULT FAIL ($FAILS:$FAILED)"; fi
  sync; poweroff -f
}
echo "HOPLAT_INFO kernel $(uname -r), $(nproc) CPUs"

for ko in $(cat /etc/modlist); do insmod "$ko" || fail "insmod_$(basename "$ko")"; done
insmod /hoplat.ko ring_records=4096 || { fail insmod_hoplat; finish; }
[ -c /dev/hoplat ] && pass device_node || fail device_node
if grep -q 'hoplat.lab=1' /proc/cmdline; then . /lab.sh; fi  # the lab, not the tests
if grep -q 'hoplat.lab2=' /proc/cmdline; then . /lab2.sh; fi  # one of the two-kernel lab's guests

# ---- topology ----
for n in h1 r1 r2 h2; do ip netns add $n; ip -n $n link set lo up; done
ip -n h1 link add eth0 type veth peer name r1-h1 netns r1
ip -n r1 link add r1-r2 type veth peer name r2-r1 netns r2
ip -n h2 link add eth0 type veth peer name r2-h2 netns r2
ip -n h1 addr add 192.0.2.2/24 dev eth0;       ip -n h1 addr add 2001:db8:1::2/64 dev eth0 nodad
ip -n r1 addr add 192.0.2.1/24 dev r1-h1;      ip -n r1 addr add 2001:db8:1::1/64 dev r1-h1 nodad
ip -n r1 addr add 198.51.100.1/24 dev r1-r2;   ip -n r1 addr add 2001:db8:2::1/64 dev r1-r2 nodad
ip -n r2 addr add 198.51.100.2/24 dev r2-r1;   ip -n r2 addr add 2001:db8:2::2/64 dev r2-r1 nodad
ip -n r2 addr add 203.0.113.1/24 dev r2-h2;    ip -n r2 addr add 2001:db8:3::1/64 dev r2-h2 nodad
ip -n h2 addr add 203.0.113.2/24 dev eth0;     ip -n h2 addr add 2001:db8:3::2/64 dev eth0 nodad
for n in h1 r1 r2 h2; do
  for d in $(ip -n $n -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do ip -n $n link set "$d" up; done
done
for r in r1 r2; do ip netns exec $r sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; done
ip -n h1 route add default via 192.0.2.1;      ip -n h1 -6 route add default via 2001:db8:1::1
ip -n h2 route add default via 203.0.113.1;    ip -n h2 -6 route add default via 2001:db8:3::1
ip -n r1 route add 203.0.113.0/24 via 198.51.100.2; ip -n r1 -6 route add 2001:db8:3::/64 via 2001:db8:2::2
ip -n r2 route add 192.0.2.0/24 via 198.51.100.1;   ip -n r2 -6 route add 2001:db8:1::/64 via 2001:db8:2::1
# Warm-up: neighbour discovery before anything is counted.
ip netns exec h1 ping -c 1 -W 5 203.0.113.2 >/dev/null 2>&1
ip netns exec h1 ping -6 -c 1 -W 5 2001:db8:3::2 >/dev/null 2>&1
ip netns exec h2 ping -c 1 -W 5 192.0.2.2 >/dev/null 2>&1
ip netns exec h2 ping -6 -c 1 -W 5 2001:db8:1::2 >/dev/null 2>&1
ip netns exec h1 ping -c 2 -W 5 203.0.113.2 >/dev/null 2>&1 && pass topology || fail topology

# start_bg NAME NS CMD...: runs a probe in the background into /tmp/NAME, waits for READY.
start_bg() {
  name=$1; ns=$2; shift 2
  if [ "$ns" = root ]; then "$P" "$@" >/tmp/$name 2>&1 &
  else ip netns exec "$ns" "$P" "$@" >/tmp/$name 2>&1 & fi
  eval "pid_$name=$!"
  i=0; while ! grep -q READY /tmp/$name 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 200 ] && { fail "start_$name"; return 1; }; sleep 0.05
  done
}
stop_all() { touch "$1"; wait; }
# wait_count FILE REGEX N: until FILE has N lines matching (the readers print
# as records arrive), at most 10 s.
wait_count() {
  i=0; while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
    i=$((i + 1)); [ $i -gt 200 ] && return 1; sleep 0.05; done
}
# counter NS NAME: one counter of that namespace, over genetlink.
counter() { ip netns exec "$1" "$P" counters | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }
fwd() { cat "$@" | grep '^R .* kind=fwd '; }
hashes() { sed -n 's/.*hash=\([0-9a-f]*\).*/\1/p'; }

if grep -q 'hoplat.bench=1' /proc/cmdline; then
  . /bench.sh
  echo "HOPLAT_RESULT PASS"
  sync; poweroff -f
fi

# ---- scenario 1: exact records, same hash on both routers, DSCP rewrite ----
# r1 rewrites DSCP (to EF, tos 0xb8) on everything IPv4 it sends to r2.
tc -n r1 qdisc add dev r1-r2 root handle 1: prio
tc -n r1 filter add dev r1-r2 parent 1: protocol ip u32 match u32 0 0 \
  action pedit ex munge ip dsfield set 0xb8 pipe csum ip4h
S=/tmp/stop1
start_bg sink h2 sink 9999 $S
# r2's reader is two threads sharing one file: every record exactly once.
for n in r1 h1 h2; do start_bg rec_$n $n read $S; done
start_bg rec_r2 r2 read $S 2
start_bg rec_root root read $S
start_bg cap_r2 r2 capture r2-r1 $S
ip netns exec h1 ping -c 10 -i 0.1 -W 5 203.0.113.2 >/tmp/ping4 2>&1 || fail ping4 "$(tail -2 /tmp/ping4)"
ip netns exec h1 ping -6 -c 10 -i 0.1 -W 5 2001:db8:3::2 >/tmp/ping6 2>&1 || fail ping6 "$(tail -2 /tmp/ping6)"
ip netns exec h1 "$P" udp 203.0.113.2 9999 10
ip netns exec h1 "$P" udp 2001:db8:3::2 9999 10
# The datagrams are one-way: stop once r2 has recorded all 60 (or 10 s passed).
wait_count /tmp/rec_r2 'kind=fwd ' 60
stop_all $S
for n in r1 r2; do
  c=$(fwd /tmp/rec_$n | wc -l)
  check "s1_exact_forwarded_$n" $([ "$c" = 60 ]; echo $?) "forwarded=$c want 60 (20 ping4 + 20 ping6 + 10 udp4 + 10 udp6)"
done
for n in h1 h2 root; do
  c=$(fwd /tmp/rec_$n | wc -l)
  check "s1_no_forwarded_in_$n" $([ "$c" = 0 ]; echo $?) "forwarded=$c"
done
c=$(grep -c '^R ' /tmp/rec_root); check s1_root_sees_nothing $([ "$c" = 0 ]; echo $?) "records=$c"
c=$(grep -c '^R .* kind=out ' /tmp/rec_h1)
check s1_local_out_in_h1 $([ "$c" -ge 40 ]; echo $?) "local_out=$c want >= 40"
fwd /tmp/rec_r1 | hashes | sort >/tmp/h_r1; fwd /tmp/rec_r2 | hashes | sort >/tmp/h_r2
check s1_same_hashes_r1_r2 $(cmp -s /tmp/h_r1 /tmp/h_r2; echo $?) "$(wc -l </tmp/h_r1) vs $(wc -l </tmp/h_r2)"
bad=$(fwd /tmp/rec_r1 /tmp/rec_r2 | awk '{ split($6, r, "="); if (r[2] <= 0 || r[2] > 50000000) n++ } END { print n + 0 }')
check s1_residence_plausible $([ "$bad" = 0 ]; echo $?) "outside (0, 50 ms]: $bad"
# The TTL at arrival: one lower at the next router, whichever way the packet
# went; h1 sends with 64 and r1 receives it with 64 (a sender does not lower it).
ttls() { sed -n 's/.*hash=\([0-9a-f]*\).* ttl=\([0-9]*\).*/\1 \2/p' | sort; }
fwd /tmp/rec_r1 | ttls >/tmp/t_r1; fwd /tmp/rec_r2 | ttls >/tmp/t_r2
ttl_bad=$(awk 'NR == FNR { t[$1] = $2; next } ($1 in t) { d = t[$1] - $2; if (d != 1 && d != -1) n++ } END { print n + 0 }' /tmp/t_r1 /tmp/t_r2)
ttl_pairs=$(awk 'NR == FNR { t[$1] = 1; next } ($1 in t) { n++ } END { print n + 0 }' /tmp/t_r1 /tmp/t_r2)
out64=$(grep '^R .* kind=out ' /tmp/rec_h1 | grep -c ' ttl=64 ')
check s1_ttl_one_lower_per_router $([ "$ttl_bad" = 0 ] && [ "$ttl_pairs" -ge 40 ] && [ "$out64" -ge 20 ]; echo $?) \
  "pairs r1/r2 $ttl_pairs, not one apart $ttl_bad; h1 sent with ttl 64: $out64"
# Userspace hashes the bytes r2 received (TTL 63, DSCP rewritten) to r2's own hashes.
grep '^C ' /tmp/cap_r2 | hashes | sort -u >/tmp/c_r2
matched=$(sort -u /tmp/h_r2 | cat - /tmp/c_r2 | sort | uniq -d | wc -l)
check s1_userspace_hash_matches $([ "$matched" = 40 ]; echo $?) "matched=$matched want 40 (every h1->h2 packet r2 received)"
dscp=$(grep '^C ' /tmp/cap_r2 | grep -c 'v6=0 tos=184 ttl=63')
check s1_dscp_rewritten_in_flight $([ "$dscp" -ge 20 ]; echo $?) "ipv4 packets with tos 0xb8 at r2: $dscp"

# ---- packets dropped between the hooks leave no record ----
ip -n r1 route add blackhole 203.0.113.99/32
S=/tmp/stop_drop
start_bg recd_r1 r1 read $S
ip netns exec h1 ping -c 5 -i 0.1 -W 1 203.0.113.99 >/dev/null 2>&1
ip netns exec h1 ping -c 3 -i 0.1 -W 5 203.0.113.2 >/dev/null 2>&1 || fail ping_after_blackhole
stop_all $S
c=$(fwd /tmp/recd_r1 | wc -l)
check s1_dropped_packets_leave_no_record $([ "$c" = 6 ]; echo $?) \
  "forwarded records=$c want 6 (3 pings answered; 5 blackholed leave none)"
ip -n r1 route del blackhole 203.0.113.99/32
proc=$(ip netns exec r1 cat /proc/net/hoplat)
echo "$proc" | sed 's/^/HOPLAT_INFO proc r1 /'
check s1_proc_net_hoplat $(echo "$proc" | grep -qE '^packets_seen [1-9]' && echo "$proc" | grep -q '^reader none'; echo $?) \
  "per-namespace counters in /proc/net/hoplat"

# ---- scenario 2: 20 ms netem on r1 -> r2 shows up in the hop, not in residence ----
tc -n r1 qdisc del dev r1-r2 root
tc -n r1 qdisc add dev r1-r2 root netem delay 20ms
S=/tmp/stop2
for n in r1 r2; do start_bg rec2_$n $n read $S; done
ip netns exec h1 ping -c 20 -i 0.1 -W 5 203.0.113.2 >/tmp/ping4b 2>&1 || fail ping_netem
stop_all $S  # every reply is back: both directions crossed both routers
fwd /tmp/rec2_r1 | awk '{ split($2, h, "="); split($5, e, "="); print h[2], e[2] }' | sort >/tmp/e_r1
fwd /tmp/rec2_r2 | awk '{ split($2, h, "="); split($4, a, "="); print h[2], a[2] }' | sort >/tmp/a_r2
awk 'NR == FNR { exit_ns[$1] = $2; next } ($1 in exit_ns) { d = $2 - exit_ns[$1]; if (d > 0) print d }' \
  /tmp/e_r1 /tmp/a_r2 | sort -n >/tmp/hops
n=$(wc -l </tmp/hops)
median=$(awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }' /tmp/hops)
echo "FIGURE netem_hop_median_ns $median over $n packets"
check s2_netem_hop_median $([ "$n" = 20 ] && [ "$median" -ge 19500000 ] && [ "$median" -le 23000000 ]; echo $?) \
  "median r2.arrival - r1.exit = $median ns over $n (want 20 ms, -0.5/+3 ms: a busy host slows TCG)"
rmed=$(fwd /tmp/rec2_r1 | awk '{ split($6, r, "="); print r[2] }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }')
check s2_residence_excludes_netem $([ "$rmed" -lt 5000000 ]; echo $?) "median residence in r1 = $rmed ns"
# The netem qdisc is r1's egress queue: each record's queue time holds the
# delay, and the wire hop (hand-off at r1 to arrival at r2) does not.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "none" }'; }
oif2=$(ip -n r1 -o link show r1-r2 | cut -d: -f1)
qmed=$(fwd /tmp/rec2_r1 | sed -n "s/.* out=$oif2 .* q=\\([0-9]*\\)\$/\\1/p" | median)
fwd /tmp/rec2_r1 | grep " out=$oif2 " | awk '{ split($2, h, "="); split($5, e, "="); split($NF, q, "="); if (q[2] >= 0) print h[2], e[2] + q[2] }' | sort >/tmp/x_r1
wire=$(awk 'NR == FNR { x[$1] = $2; next } ($1 in x) { print $2 - x[$1] }' /tmp/x_r1 /tmp/a_r2 | median)
echo "FIGURE netem_queue_median_ns $qmed wire_hop_median_ns $wire"
check s2_netem_is_queueing $([ "$qmed" != none ] && [ "$qmed" -ge 19500000 ] && [ "$qmed" -le 23000000 ] &&
  [ "$wire" != none ] && [ "$wire" -ge 0 ] && [ "$wire" -le 2000000 ]; echo $?) \
  "median queue time in r1 toward r2 = $qmed ns (want 20 ms, -0.5/+3 ms); wire hop r1 hand-off -> r2 arrival = $wire ns (want at most 2 ms)"
tc -n r1 qdisc del dev r1-r2 root

# ---- scenario 9: a shaped egress queue, timed at the hand-off to the driver ----
# r2 shapes toward h2 (tbf 4 Mbit/s, queue up to 150 ms) while iperf3 sends
# 8 Mbit/s of UDP from h1: the queue fills and overflows. A capture on
# r2-h2 sees each packet after the qdisc with the kernel's own time stamp;
# for the same packets (by hash), capture time - POST_ROUTING exit must
# agree with hoplat's queue time. Packets the qdisc drops leave records
# without a hand-off, one per tbf drop.
tc -n r2 qdisc add dev r2-h2 root tbf rate 4mbit burst 4kb latency 150ms
S=/tmp/stop9
start_bg rec9_r2 r2 read $S
start_bg rec9_h2 h2 read $S
start_bg cap9 r2 capture-out r2-h2 $S
ip netns exec h2 iperf3 -s -1 >/tmp/iperf9_s 2>&1 &
i=0; until ip netns exec h2 grep -qE ':1451 0+:0000 0A' /proc/net/tcp6 /proc/net/tcp 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05; done
u0=$(counter r2 handoff_unseen)
ip netns exec h1 iperf3 -u -b 8M -l 1200 -t 3 -c 203.0.113.2 >/tmp/iperf9_c 2>&1 || fail s9_iperf3 "$(tail -1 /tmp/iperf9_c)"
# Until the dropped packets' records have left (handoff_timeout_ms), at most 5 s.
i=0; until [ "$(counter r2 in_handoff)" = 0 ]; do i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1; done
stop_all $S
u1=$(counter r2 handoff_unseen)
tbf_drops=$(tc -n r2 -s qdisc show dev r2-h2 | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -1)
tc -n r2 qdisc del dev r2-h2 root
# POST_ROUTING exit of r2's forwarded records toward h2 (ifindex of r2-h2).
oif=$(ip -n r2 -o link show r2-h2 | cut -d: -f1)
fwd /tmp/rec9_r2 | grep " out=$oif " >/tmp/f9
awk '{ split($2, h, "="); split($5, e, "="); split($NF, q, "="); print h[2], e[2], q[2] }' /tmp/f9 | sort >/tmp/q9
grep '^C ' /tmp/cap9 | sed -n 's/.*hash=\([0-9a-f]*\).* ts=\([0-9]*\)$/\1 \2/p' | sort >/tmp/c9
# hash, hoplat's queue time, the capture's (ts - exit), for packets seen by both
awk 'NR == FNR { e[$1] = $2; q[$1] = $3; next } ($1 in e) && q[$1] >= 0 { print $1, q[$1], $2 - e[$1] }' \
  /tmp/q9 /tmp/c9 >/tmp/m9
matched=$(wc -l </tmp/m9)
hq=$(awk '{ print $2 }' /tmp/m9 | median); cq=$(awk '{ print $3 }' /tmp/m9 | median)
dq=$(awk '{ d = $2 - $3; if (d < 0) d = -d; print d }' /tmp/m9 | median)
echo "FIGURE tbf_queue_median_ns hoplat $hq capture $cq per_packet_abs_diff_median $dq over $matched packets"
check s9_queue_time_matches_capture $([ "$matched" -ge 500 ] && [ "$hq" -ge 20000000 ] &&
  awk -v a="$hq" -v b="$cq" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 50000) }'; echo $?) \
  "median queue time on r2-h2: hoplat $hq ns, capture after the qdisc $cq ns, over $matched packets (want within 50 us, queue at least 20 ms)"
# The hop r2 -> h2 on the wire: h2's arrival - r2's hand-off; before, from r2's POST_ROUTING.
grep '^R .* kind=in ' /tmp/rec9_h2 | awk '{ split($2, h, "="); split($4, a, "="); print h[2], a[2] }' | sort >/tmp/a9
wire9=$(awk 'NR == FNR { x[$1] = $2 + $3; ok[$1] = $3 >= 0; next } ($1 in x) && ok[$1] { print $2 - x[$1] }' /tmp/q9 /tmp/a9 | median)
post9=$(awk 'NR == FNR { x[$1] = $2; next } ($1 in x) { print $2 - x[$1] }' /tmp/q9 /tmp/a9 | median)
check s9_hop_excludes_queue $([ "$wire9" != none ] && [ "$wire9" -ge 0 ] && [ "$wire9" -le 2000000 ] && [ "$post9" -ge 20000000 ]; echo $?) \
  "median r2 hand-off -> h2 arrival $wire9 ns (want at most 2 ms); from r2's POST_ROUTING it would be $post9 ns"
noho=$(grep -c ' q=-1$' /tmp/f9)
check s9_qdisc_drops_leave_without_handoff $([ "${tbf_drops:-0}" -gt 0 ] && [ "$noho" = "$tbf_drops" ] &&
  [ $((u1 - u0)) = "$tbf_drops" ]; echo $?) \
  "tbf dropped $tbf_drops; r2 records toward h2 without a hand-off $noho, handoff_unseen $u0 -> $u1"

# ---- sampling: 1 in 4 by hash keeps the same packets on both routers ----
for r in r1 r2; do ip netns exec $r "$P" set one_in=4 >/dev/null || fail "set_one_in_$r"; done
S=/tmp/stop_s
for n in r1 r2; do start_bg recs_$n $n read $S; done
ip netns exec h1 ping -c 40 -i 0.05 -W 5 203.0.113.2 >/dev/null 2>&1 || fail ping_sampling
stop_all $S
fwd /tmp/recs_r1 | hashes | sort >/tmp/hs_r1; fwd /tmp/recs_r2 | hashes | sort >/tmp/hs_r2
n=$(wc -l </tmp/hs_r1)
check s1_sampling_same_packets $(cmp -s /tmp/hs_r1 /tmp/hs_r2 && [ "$n" -gt 0 ] && [ "$n" -lt 60 ]; echo $?) \
  "kept $n of 80 on r1, same set on r2: $(cmp -s /tmp/hs_r1 /tmp/hs_r2 && echo yes || echo no)"
for r in r1 r2; do ip netns exec $r "$P" set one_in=1 >/dev/null; done

# ---- the real agent: r1's records through hoplat-agent into a collector ----
if [ -x /bin/hoplat-agent ]; then
  read_before=$(ip netns exec r1 "$P" counters | sed -n 's/.* records_read=\([0-9]*\).*/\1/p')
  # /sbin/ip itself, not the ip() function: $! must be the daemon's pid, not a subshell's.
  /sbin/ip netns exec r1 hoplat-collector --listen 127.0.0.1:50051 --db /tmp/collector.db \
    >/tmp/collector.log 2>&1 &
  coll=$!
  i=0; until ip netns exec r1 hoplat --timeout 1s nodes >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 400 ] && break; sleep 0.05; done
  # Settings from a config file; the command line wins over it (one_in).
  printf '# r1\nflush_interval = 50ms\nsample_one_in = 3\npaths = forward,ipv6\n' >/tmp/agent.conf
  /sbin/ip netns exec r1 hoplat-agent --config /tmp/agent.conf --collector 127.0.0.1:50051 \
    --node_id r1 --sample_one_in 1 --spool_dir /tmp/spool >/tmp/agent.log 2>&1 &
  agent=$!
  i=0; until ip netns exec r1 "$P" config | grep -q 'paths=0x11 one_in=1$'; do
    i=$((i + 1)); [ $i -gt 400 ] && break; sleep 0.05; done
  cfg1=$(ip netns exec r1 "$P" config)
  # SIGHUP re-reads the file: every path again.
  printf 'flush_interval = 50ms\npaths = all\n' >/tmp/agent.conf
  kill -HUP $agent
  i=0; until ip netns exec r1 "$P" config | grep -q 'paths=0x1f '; do
    i=$((i + 1)); [ $i -gt 400 ] && break; sleep 0.05; done
  cfg2=$(ip netns exec r1 "$P" config)
  check s6_agent_config_file_and_sighup \
    $(echo "$cfg1" | grep -q 'paths=0x11 one_in=1$' && echo "$cfg2" | grep -q 'paths=0x1f one_in=1$'; echo $?) \
    "from the file: $cfg1; after SIGHUP: $cfg2"
  i=0; until ip netns exec r1 hoplat nodes 2>/dev/null | grep -q '^r1 .* yes '; do
    i=$((i + 1)); [ $i -gt 400 ] && break; sleep 0.05; done
  ip netns exec h1 ping -c 20 -i 0.05 -W 5 203.0.113.2 >/dev/null 2>&1 || fail ping_agent
  kill -TERM $agent; wait $agent; agent_rc=$?
  sed 's/^/HOPLAT_INFO agent /' /tmp/agent.log | tail -6
  read_after=$(ip netns exec r1 "$P" counters | sed -n 's/.* records_read=\([0-9]*\).*/\1/p')
  read_by_agent=$((read_after - read_before))
  stored=$(ip netns exec r1 hoplat --json nodes | sed -n 's/.*"observations_stored": "\([0-9]*\)".*/\1/p')
  check s6_agent_delivers_every_record \
    $([ $agent_rc = 0 ] && [ "${stored:-0}" -ge 40 ] && [ "$stored" = "$read_by_agent" ]; echo $?) \
    "agent exit $agent_rc; module handed $read_by_agent records to readers, collector stored $stored"
  seen=$(ip netns exec r1 hoplat --json nodes | sed -n 's/.*"packets_seen": "\([0-9]*\)".*/\1/p')
  check s6_module_counters_reach_collector $([ "${seen:-0}" -gt 0 ]; echo $?) \
    "packets_seen=$seen in ListNodes (read over genetlink with libnl-3 by the agent)"
  # --record: the device's records into a replay file, played back to the collector.
  ip netns exec h1 ping -c 20 -i 0.05 -W 5 203.0.113.2 >/dev/null 2>&1 &
  pinger=$!
  ip netns exec r2 hoplat-agent --record /tmp/r2.rec --record_count 10 >/tmp/record.log 2>&1
  record_rc=$?
  wait $pinger
  size=$(wc -c </tmp/r2.rec)
  ip netns exec r1 hoplat-agent --replay /tmp/r2.rec --node_id r2rec --collector 127.0.0.1:50051 \
    --spool_dir= >/tmp/replay.log 2>&1
  replay_rc=$?
  rec_stored=$(ip netns exec r1 hoplat --json nodes |
    awk '/"r2rec"/ { f = 1 } f && /observations_stored/ { gsub(/[^0-9]/, ""); print; exit }')
  check s6_agent_records_and_replays \
    $([ $record_rc = 0 ] && [ "$size" = 640 ] && [ $replay_rc = 0 ] && [ "$rec_stored" = 10 ]; echo $?) \
    "record exit $record_rc, $size bytes; replay exit $replay_rc, collector stored ${rec_stored:-none}"
  kill -TERM $coll; wait $coll
fi

# ---- scenario 3: stress ----
# iperf3 through both routers while readers drain, a poller reads counters
# over genetlink, a third process opens and closes the device, and
# namespaces come and go.
S=/tmp/stop3
start_bg drain_r1 r1 drain $S
start_bg drain_r2 r2 drain $S 2	# two threads on one file
start_bg churn h1 churn $S
ip netns exec h2 iperf3 -s -1 >/tmp/iperf_s 2>&1 &
i=0; until ip netns exec h2 grep -qE ':1451 0+:0000 0A' /proc/net/tcp6 /proc/net/tcp 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05; done
( n=0; while [ ! -e $S ]; do ip netns exec r1 "$P" counters >/dev/null || echo POLL_FAIL; n=$((n + 1)); done; echo "POLLS $n" ) >/tmp/poller 2>&1 &
( n=0; while [ ! -e $S ]; do ip netns add churn$n && ip netns exec churn$n "$P" counters >/dev/null; ip netns del churn$n; n=$((n + 1)); done; echo "NETNS $n" ) >/tmp/nschurn 2>&1 &
ip netns exec h1 iperf3 -c 203.0.113.2 -t ${STRESS_SECONDS:-20} -f m >/tmp/iperf_c 2>&1
iperf_rc=$?
stop_all $S
rate=$(grep -E 'sender' /tmp/iperf_c | awk '{ print $7 }')
echo "FIGURE stress_iperf3_mbit_s $rate"
check s3_iperf3_through_both_routers $([ $iperf_rc = 0 ]; echo $?) "$rate Mbit/s"
for n in r1 r2; do
  t=$(sed -n 's/^TOTAL //p' /tmp/drain_$n)
  check "s3_reader_drained_$n" $([ "${t:-0}" -gt 100 ]; echo $?) "records=$t"
done
t1=$(sed -n 's/^TOTAL //p' /tmp/drain_r1); t2=$(sed -n 's/^TOTAL //p' /tmp/drain_r2)
check s3_two_threads_one_file_lose_nothing \
  $(awk -v a="${t1:-0}" -v b="${t2:-1}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= a / 100) }'; echo $?) \
  "r1 read $t1, r2 (two threads) read $t2 of the same packets; $(grep THREAD /tmp/drain_r2 | tr '\n' ' ')"
ip netns exec r1 "$P" counters | sed 's/^/HOPLAT_INFO r1 /'
ip netns exec r2 "$P" counters | sed 's/^/HOPLAT_INFO r2 /'
check s3_poller $(grep -q POLL_FAIL /tmp/poller; [ $? = 1 ] && grep -q POLLS /tmp/poller; echo $?) "$(cat /tmp/poller)"
check s3_netns_churn $(grep -q NETNS /tmp/nschurn; echo $?) "$(cat /tmp/nschurn)"
check s3_open_close_churn $(grep -q '^CHURN opened=[1-9]' /tmp/churn; echo $?) "$(grep CHURN /tmp/churn)"

# A small ring that nobody reads: drops are counted, packets still flow
# (and the smallest hand-off table: two sets).
rmmod hoplat && insmod /hoplat.ko ring_records=64 handoff_entries=1 || fail s3_reload_small_ring
S=/tmp/stop3b
start_bg hold_r1 r1 hold $S
ip netns exec h1 ping -c 200 -i 0.01 -W 5 203.0.113.2 >/tmp/ping_flood 2>&1
flood_rc=$?
stop_all $S
check s3_packets_flow_with_full_ring $([ $flood_rc = 0 ]; echo $?) "$(grep 'packets transmitted' /tmp/ping_flood)"
drops=$(ip netns exec r1 "$P" counters | sed -n 's/.* ring_drops=\([0-9]*\).*/\1/p')
held=$(sed -n 's/^TOTAL //p' /tmp/hold_r1)
check s3_ring_drops_counted $([ "${drops:-0}" -gt 0 ] && [ "${held:-999}" -le 128 ]; echo $?) \
  "ring_drops=$drops records read=$held (ring: 64 per CPU)"
rmmod hoplat && insmod /hoplat.ko || fail s3_reload

# ---- scenario 3c: sampled packets that leave no record are counted ----
# With --paths forward, packets delivered to the router itself are sampled
# at arrival and then not recorded: counted as filtered.
ip netns exec r1 "$P" set paths=0x19 || fail s3c_set_paths
S=/tmp/stop3c
start_bg rec3c_r1 r1 drain $S
f0=$(counter r1 filtered)
ip netns exec h1 ping -c 10 -i 0.05 -W 5 192.0.2.1 >/dev/null 2>&1 || fail s3c_ping_router
f1=$(counter r1 filtered)
stop_all $S
ip netns exec r1 "$P" set paths=0x1f || fail s3c_restore_paths
# (a neighbour probe to r1 may add one or two)
f=$((${f1:-0} - ${f0:-0}))
check s3c_filtered_by_paths_counted $([ $f -ge 10 ] && [ $f -le 14 ]; echo $?) \
  "filtered $f0 -> $f1 for 10 pings to r1 with paths=forward"
# Records still in the rings when the reader closes are counted, not lost.
S=/tmp/stop3d
d0=$(counter r1 close_discards)
start_bg unread_r1 r1 unread $S
ip netns exec h1 ping -c 20 -i 0.02 -W 5 203.0.113.2 >/dev/null 2>&1 || fail s3c_ping_through
stop_all $S
d1=$(counter r1 close_discards)
d=$((${d1:-0} - ${d0:-0}))
check s3c_unread_at_close_counted $([ $d -ge 40 ] && [ $d -le 44 ]; echo $?) \
  "close_discards $d0 -> $d1 for 20 pings through r1 (40 forwarded) never read"

# ---- scenario 7: every sampled packet accounted for, in every namespace ----
# List receive: GRO on the routers' receiving veth ends makes veth receive
# through NAPI, which hands PRE_ROUTING whole lists (gro_normal_batch) before
# the first reaches POST_ROUTING; veth takes that path only from a sender
# without TSO, and a little netem on the senders' links makes bursts. Readers
# drain r1 and r2 (h1, h2 and the root have none: no_reader); packets
# blackholed between r1's hooks are unmatched, charged to r1 whichever
# namespace next uses their skb; pings to r1 itself with paths=forward are
# filtered; r2's reader closes with records pending (close_discards).
counters_of() { if [ "$1" = root ]; then "$P" counters; else ip netns exec "$1" "$P" counters; fi; }
# The identity of a COUNTERS line: "ok SUM" or "bad SUM".
balance() {
  echo "$1" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); c[kv[1]] = kv[2] }
    s = c["records_read"] + c["ring_drops"] + c["no_reader"] + c["unmatched"] + c["filtered"] +
        c["close_discards"] + c["stash_full"]
    print (s == c["sampled"] && c["in_stash"] == 0 && c["in_handoff"] == 0) ? "ok" : "bad", s }'
}
u0=$(counter r1 unmatched); f0=$(counter r1 filtered); d0=$(counter r2 close_discards)
ip netns exec r1 ethtool -K r1-h1 gro on && ip netns exec r2 ethtool -K r2-r1 gro on &&
  ip netns exec h1 ethtool -K eth0 tso off gso off && ip netns exec r1 ethtool -K r1-r2 tso off gso off ||
  fail s7_ethtool
tc -n h1 qdisc add dev eth0 root netem delay 1ms
tc -n r1 qdisc add dev r1-r2 root netem delay 1ms
ip -n r1 route add blackhole 203.0.113.99/32
S=/tmp/stop7
start_bg sink7 h2 sink 9999 $S
start_bg drain7_r1 r1 drain $S
start_bg drain7_r2 r2 drain $S
ip netns exec h2 iperf3 -s -1 >/tmp/iperf7_s 2>&1 &
i=0; until ip netns exec h2 grep -qE ':1451 0+:0000 0A' /proc/net/tcp6 /proc/net/tcp 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05; done
ip netns exec h1 "$P" flood 203.0.113.2 9999 3 >/tmp/flood7 &
flooder=$!
ip netns exec h1 iperf3 -c 203.0.113.2 -t 3 -f m >/tmp/iperf7_c 2>&1 || fail s7_iperf3 "$(tail -1 /tmp/iperf7_c)"
wait $flooder
ip netns exec h1 "$P" udp 203.0.113.99 9 10
ip netns exec r1 "$P" set paths=0x19 >/dev/null || fail s7_set_paths
ip netns exec h1 ping -c 10 -i 0.02 -W 2 192.0.2.1 >/dev/null 2>&1 || fail s7_ping_router
ip netns exec r1 "$P" set paths=0x1f >/dev/null || fail s7_restore_paths
stop_all $S
S=/tmp/stop7b
start_bg unread7_r2 r2 unread $S
ip netns exec h1 ping -c 10 -i 0.02 -W 2 203.0.113.2 >/dev/null 2>&1 || fail s7_ping_through
stop_all $S
# Quiet: an arrival still between its hooks is in_stash, for 100 ms at most
# (then it can no longer match: unmatched). Until every namespace balances.
i=0
while :; do
  all=ok
  for n in h1 r1 r2 h2 root; do
    line=$(counters_of $n); eval "c7_$n=\"\$line\""
    [ "$(balance "$line" | cut -d' ' -f1)" = ok ] || all=bad
  done
  [ $all = ok ] && break
  i=$((i + 1)); [ $i -gt 30 ] && break; sleep 0.1
done
echo "HOPLAT_DETAIL s7 $(grep FLOOD /tmp/flood7), iperf3 $(grep -E 'sender' /tmp/iperf7_c | awk '{ print $7 }') Mbit/s, quiet after $i polls"
for n in h1 r1 r2 h2 root; do
  eval "line=\$c7_$n"
  echo "HOPLAT_DETAIL s7 $n $line"
  b=$(balance "$line")
  check "s7_accounted_$n" $([ "${b%% *}" = ok ]; echo $?) \
    "sampled=$(echo "$line" | sed -n 's/.* sampled=\([0-9]*\).*/\1/p') = ${b#* } (records_read+ring_drops+no_reader+unmatched+filtered+close_discards+stash_full), $(echo "$line" | grep -o 'in_stash=[0-9]*')"
done
for n in r1 r2; do
  eval "line=\$c7_$n"
  full=$(echo "$line" | sed -n 's/.* stash_full=\([0-9]*\).*/\1/p')
  check "s7_no_stash_collisions_$n" $([ "$full" = 0 ]; echo $?) "stash_full=$full under list receive"
done
# veth counts the packets its NAPI (GRO, list receive) took: proof the lists happened.
for d in "r1 r1-h1" "r2 r2-r1"; do
  set -- $d
  napi=$(ip netns exec $1 ethtool -S $2 | awk '/rx_queue_0_xdp_packets/ { print $2 }')
  check "s7_list_receive_$1" $([ "${napi:-0}" -gt 1000 ]; echo $?) "$2: ${napi:-none} packets through veth NAPI/GRO"
done
# r1 forwards h1's GRO aggregates to r1-r2, which has no GSO: segmented in
# software after POST_ROUTING, so their records leave without a hand-off.
gso7=$(echo "$c7_r1" | sed -n 's/.* handoff_gso=\([0-9]*\).*/\1/p')
check s7_software_gso_counted_in_r1 $([ "${gso7:-0}" -gt 0 ]; echo $?) "handoff_gso=$gso7"
u1=$(echo "$c7_r1" | sed -n 's/.* unmatched=\([0-9]*\).*/\1/p')
f1=$(echo "$c7_r1" | sed -n 's/.* filtered=\([0-9]*\).*/\1/p')
d1=$(echo "$c7_r2" | sed -n 's/.* close_discards=\([0-9]*\).*/\1/p')
check s7_dropped_between_hooks_unmatched_in_r1 $([ $((u1 - u0)) -ge 10 ]; echo $?) \
  "unmatched $u0 -> $u1 in r1 for 10 datagrams blackholed there"
check s7_filtered_in_r1 $([ $((f1 - f0)) -ge 10 ]; echo $?) "filtered $f0 -> $f1 for 10 pings to r1"
check s7_close_discards_in_r2 $([ $((d1 - d0)) -ge 20 ]; echo $?) "close_discards $d0 -> $d1 for 10 pings through r2 never read"
ip -n r1 route del blackhole 203.0.113.99/32
tc -n h1 qdisc del dev eth0 root; tc -n r1 qdisc del dev r1-r2 root
ip netns exec r1 ethtool -K r1-h1 gro off; ip netns exec r2 ethtool -K r2-r1 gro off
ip netns exec h1 ethtool -K eth0 tso on gso on; ip netns exec r1 ethtool -K r1-r2 tso on gso on

# ---- scenario 8: the wall clock stepped during traffic; residences unaffected ----
# Every namespace reads the one kernel clock: the probe steps CLOCK_REALTIME
# 2 s forward and back again every millisecond (ADJ_SETOFFSET, exact, so it
# ends where it began) for 1 s of a UDP flood through r1. A step that lands
# between a packet's hooks moves its exit by +-2 s from its arrival; its
# residence, taken on CLOCK_MONOTONIC, must not notice.
S=/tmp/stop8
start_bg sink8 h2 sink 9999 $S
start_bg rec8_r1 r1 read $S
ip netns exec h1 "$P" flood 203.0.113.2 9999 1.6 >/tmp/flood8 &
flooder=$!
sleep 0.3
"$P" clockstep 2 1000 1 >/tmp/step8 2>&1
wait $flooder
stop_all $S
# Per forwarded record: d = (exit - arr) - res, ~0 unless a step landed
# inside (+-2 s); jumps: consecutive records whose arrivals are ~2 s apart.
fwd /tmp/rec8_r1 | awk '{ split($4, a, "="); split($5, e, "="); split($6, r, "=")
    n++; d = e[2] - a[2] - r[2]
    if (d > 1.5e9 && d < 2.5e9) fwdstep++; else if (d < -1.5e9 && d > -2.5e9) backstep++
    else if (d > 1e6 || d < -1e6) { odd++; printf "HOPLAT_DETAIL s8 odd record: %s\n", $0 > "/dev/stderr" }
    if ((d > 1.5e9 || d < -1.5e9) && r[2] > maxres) maxres = r[2]
    if (r[2] <= 0 || r[2] > 50000000) bad++
    if (n > 1) { j = a[2] - prev; if (j < 0) j = -j; if (j > 1.5e9 && j < 2.5e9) jumps++ }
    prev = a[2] }
  END { printf "%d %d %d %d %d %d %d\n", n, fwdstep + 0, backstep + 0, odd + 0, bad + 0, jumps + 0, maxres + 0 }' >/tmp/s8
read n8 fwd8 back8 odd8 bad8 jumps8 maxres8 </tmp/s8
steps8=$(sed -n 's/^CLOCKSTEP steps=\([0-9]*\) rc=0 .*/\1/p' /tmp/step8)
restored8=$(sed -n 's/.* restored_within_ns=\([0-9]*\).*/\1/p' /tmp/step8)
echo "FIGURE clock_step_inside_residence $((fwd8 + back8)) of $n8 forwarded records at r1 ($fwd8 forward, $back8 back; their residences at most $maxres8 ns; $steps8 steps, $jumps8 arrival jumps of ~2 s)"
echo "HOPLAT_DETAIL s8 $(cat /tmp/step8) $(grep FLOOD /tmp/flood8)"
check s8_clock_stepped_during_traffic $([ "${steps8:-0}" -ge 100 ] && [ "${jumps8:-0}" -ge 10 ]; echo $?) \
  "${steps8:-no} steps of 2 s; consecutive arrivals at r1 ~2 s apart $jumps8 times"
check s8_step_inside_residence $([ $((fwd8 + back8)) -ge 1 ]; echo $?) \
  "$fwd8 records with exit - arrival = residence + 2 s, $back8 with residence - 2 s, of $n8; their residences at most $maxres8 ns"
check s8_residence_unaffected $([ "$n8" -ge 1000 ] && [ "$bad8" = 0 ] && [ "$odd8" = 0 ]; echo $?) \
  "residence outside (0, 50 ms]: $bad8 of $n8; exit - arrival off the residence by neither ~0 nor ~2 s: $odd8"
check s8_clock_restored $([ -n "$restored8" ] && [ "$restored8" -lt 10000000 ]; echo $?) \
  "realtime - monotonic after the steps within ${restored8:-?} ns of before"

# ---- scenario 4: bad input ----
ip netns add idle
ip netns exec idle "$P" errors >/tmp/errors 2>&1
sed 's/^/HOPLAT_DETAIL /' /tmp/errors
check s4_bad_input $(grep -q 'ERRORS_DONE failures=0' /tmp/errors; echo $?) "$(grep -c '^OK' /tmp/errors) checks passed"

# ---- lifetimes: a reader outlives its namespace; rmmod waits for readers ----
ip netns add gone
start_bg rec_gone gone read /tmp/stop_gone
ip netns del gone
rmmod hoplat 2>/dev/null && fail s5_rmmod_refused_with_reader || pass s5_rmmod_refused_with_reader
stop_all /tmp/stop_gone
grep -q '^TOTAL' /tmp/rec_gone && pass s5_reader_outlives_netns || fail s5_reader_outlives_netns
ip netns del idle
rmmod hoplat && pass s5_rmmod || fail s5_rmmod
insmod /hoplat.ko && [ -c /dev/hoplat ] && pass s5_insmod_again || fail s5_insmod_again
ip netns exec h1 ping -c 2 -W 5 203.0.113.2 >/dev/null 2>&1 && pass s5_traffic_after_reload || fail s5_traffic_after_reload
finish
