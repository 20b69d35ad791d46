#!/bin/sh
# A compose lab router: routes, an optional netem delay, then the agent.
# Env: ROUTES ("PREFIX via ADDR" entries separated by ';'), NETEM_TO (an
# address on the link to delay), NETEM_DELAY (e.g. 20ms), COLLECTOR.
set -eu
echo "$ROUTES" | tr ';' '\n' | while read -r route; do
  if [ -n "$route" ]; then ip route replace $route; fi
done
if [ -n "${NETEM_TO:-}" ]; then
  dev=$(ip route get "$NETEM_TO" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  tc qdisc replace dev "$dev" root netem delay "${NETEM_DELAY:-20ms}" limit 100000
  echo "router: netem ${NETEM_DELAY:-20ms} on $dev (towards $NETEM_TO)"
fi
# Forwarded packets only: the agent's own traffic to the collector is not
# what this router forwards.
exec hoplat-agent --collector "$COLLECTOR" --node_id "$(hostname)" --paths forward \
  --sample_one_in "${SAMPLE_ONE_IN:-1}" --spool_dir /var/spool/hoplat
