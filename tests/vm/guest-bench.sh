# Sourced by guest-init.sh (as /bench.sh) when the kernel command line has
# hoplat.bench=1: the module's figures in the guest. Prints FIGURE lines.

# 1. Drain rate through /dev/hoplat: records accumulate while UDP floods
#    through r1, then are read with 1 MiB reads; again, one record per read.
rmmod hoplat; insmod /hoplat.ko ring_records=262144
S1=/tmp/bench_stop1; S2=/tmp/bench_stop2
start_bg drainbench r1 drainbench $S1 $S2
ip netns exec h1 "$P" flood 203.0.113.2 9 3 | sed 's/^/HOPLAT_INFO /'
touch $S1
i=0; until grep -q 'big_reads' /tmp/drainbench; do i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.05; done
ip netns exec h1 "$P" flood 203.0.113.2 9 3 | sed 's/^/HOPLAT_INFO /'
touch $S2
wait
grep DRAIN /tmp/drainbench | sed 's/^/FIGURE /'
big=$(sed -n 's/.*big_reads.* rate=\([0-9]*\).*/\1/p' /tmp/drainbench)
one=$(sed -n 's/.*one_per_read.* rate=\([0-9]*\).*/\1/p' /tmp/drainbench)
echo "FIGURE drain_speedup $(awk -v a="$big" -v b="$one" 'BEGIN { if (b > 0) printf "%.1f", a / b }')x"
rmmod hoplat

# 2. Forwarding throughput through r1 and r2 without the module, with it
#    (sampling 1 in 1, readers draining) but without the device hand-off
#    probe (handoff=0: records leave at POST_ROUTING), and with it whole,
#    interleaved rounds.
ip netns exec h2 sh -c 'while true; do iperf3 -s -1 >/dev/null 2>&1; done' &
server=$!
iperf() {
  i=0; until ip netns exec h2 grep -q ':1451 00000000:0000 0A' /proc/net/tcp; do
    i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05; done
  ip netns exec h1 iperf3 -c 203.0.113.2 -t ${BENCH_SECONDS:-5} -f m 2>/dev/null | awk '/sender/ { print $7 }'
}
with_module() {  # $1: handoff=0|1; prints the rate
  insmod /hoplat.ko "$1"
  S=/tmp/bench_iperf_${round}_$1
  for n in r1 r2; do start_bg bdrain_$n $n drain $S; done
  iperf
  touch $S
  wait $pid_bdrain_r1 $pid_bdrain_r2
  rmmod hoplat
}
for round in 1 2 3; do
  off=$(iperf)
  post=$(with_module handoff=0)
  dev=$(with_module handoff=1)
  echo "FIGURE iperf3_round $round without_module_mbit_s=$off module_without_handoff_mbit_s=$post module_with_handoff_mbit_s=$dev"
  echo "$off $post $dev" >>/tmp/iperf_rounds
done
kill $server 2>/dev/null
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }
echo "FIGURE iperf3_ratio_median $(awk '{ if ($1 > 0) print $3 / $1 }' /tmp/iperf_rounds | med) (module with the hand-off probe / no module)"
echo "FIGURE iperf3_handoff_probe_ratio_median $(awk '{ if ($2 > 0) print $3 / $2 }' /tmp/iperf_rounds | med) (hand-off probe on / off, module loaded)"
