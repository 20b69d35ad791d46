#!/usr/bin/env bash
# The lab, as far as it exists today: starts a collector, feeds it three
# routers' worth of traffic (h1 - r1 - r2 - r3 - h2, 20 ms extra on r2 -> r3)
# through the real Ingest API, and shows path and per-hop latency.
#   scripts/lab.sh           run, show, stop
#   scripts/lab.sh --keep    leave the collector running for grpcurl/hoplat
# Environment: HOPLAT_PORT (default 50051), HOPLAT_LAB_DIR (default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[ "${1:-}" = "--keep" ] && keep=1
port="${HOPLAT_PORT:-50051}"
addr="127.0.0.1:${port}"
labdir="${HOPLAT_LAB_DIR:-$(mktemp -d /tmp/hoplat-lab.XXXXXX)}"
mkdir -p "$labdir"

scripts/install-deps.sh
scripts/build.sh build >/dev/null
bin=build

"$bin/collector/hoplat-collector" --listen "$addr" --db "$labdir/hoplat.db" \
  2>"$labdir/collector.log" &
collector=$!
stop() { kill "$collector" 2>/dev/null && wait "$collector" 2>/dev/null || true; }
if [ "$keep" -eq 0 ]; then trap stop EXIT; fi

# Wait for the collector to serve (it fails fast if the port is taken).
for _ in $(seq 100); do
  if "$bin/tools/hoplat" --collector "$addr" --timeout 1s nodes >/dev/null 2>&1; then break; fi
  if ! kill -0 "$collector" 2>/dev/null; then cat "$labdir/collector.log" >&2; exit 1; fi
  sleep 0.1
done

"$bin/tools/hoplat-demo-feed" --collector "$addr" --delay 20ms --jitter 2ms

# Correlation finishes a moment after the agents disconnect: wait for it.
hoplat() { "$bin/tools/hoplat" --collector "$addr" "$@"; }
for _ in $(seq 100); do
  if hoplat paths | grep -q "r1 > r2 > r3"; then break; fi
  sleep 0.1
done

echo
echo "== nodes =="; hoplat nodes
echo; echo "== paths (first arrival to last exit) =="; hoplat paths
echo; echo "== path latency r1 -> r3 (expect ~20 ms: the netem-like delay on r2 -> r3) =="
hoplat path r1 r3
echo; echo "== per hop and per router =="; hoplat hops
slowest=$(hoplat paths | awk '/^r1 > r2 > r3/ {print $NF}')
echo; echo "== the slowest packet r1 -> r3 =="; hoplat trace "$slowest"

cat <<EOT

Collector: $addr   database: $labdir/hoplat.db   log: $labdir/collector.log
With grpcurl (server reflection is on):
  grpcurl -plaintext $addr list
  grpcurl -plaintext $addr describe hoplat.v1.Query
  grpcurl -plaintext -d '{"from_node":"r1","to_node":"r3"}' $addr hoplat.v1.Query/PathLatency
EOT
if [ "$keep" -eq 1 ]; then
  echo "The collector keeps running (pid $collector); stop it with: kill $collector"
fi
