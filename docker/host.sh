#!/bin/sh
# A compose lab host: a route through its router, then either the traffic
# sink (iperf3 server) or the traffic source (ping, iperf3 TCP both ways and
# UDP towards PEER and PEER6, in rounds). Env: ROUTES, ROLE (source|sink),
# PEER (IPv4), PEER6 (IPv6).
set -eu
echo "$ROUTES" | tr ';' '\n' | while read -r route; do
  if [ -n "$route" ]; then ip route replace $route; fi
done
if [ "${ROLE:-sink}" = sink ]; then
  exec iperf3 -s
fi
until ping -c 1 -W 1 "$PEER" >/dev/null 2>&1; do sleep 1; done
while :; do
  ping -c 100 -i 0.1 -q "$PEER" &
  ping -6 -c 100 -i 0.1 -q "$PEER6" &
  wait
  iperf3 -c "$PEER" -t 10 -b 20M || true
  iperf3 -c "$PEER6" -t 10 -b 5M -u || true
  iperf3 -c "$PEER" -t 10 -b 20M -R || true
done
