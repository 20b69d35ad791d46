#!/usr/bin/env bash
# The VM lab (tests/vm/guest-lab.sh) and the compose lab (docker-compose.yml)
# are the same topology: every host and router has the same addresses on
# its links in both. Prints both lists on a mismatch.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# guest-lab.sh: "addr NODE DEV V4/LEN V6/LEN", up to two per line.
vm=$(sed 's/;/\n/g' "$top/tests/vm/guest-lab.sh" |
  awk '$1 == "addr" && $2 ~ /^[hr][0-9]$/ { sub(/\/.*/, "", $4); sub(/\/.*/, "", $5); print $2, $4, $5 }' |
  sort)
# docker-compose.yml: "LINK: {ipv4_address: A, ipv6_address: "B"}" under a service.
compose=$(awk '/^  [hr][0-9]:$/ { svc = $1; sub(/:/, "", svc) } /^  [a-z]/ && !/^  [hr][0-9]:$/ { svc = "" }
  svc != "" && /ipv6_address/ { line = $0; gsub(/[{},"]/, " ", line); split(line, f, " ");
    for (i in f) { if (f[i] == "ipv4_address:") v4 = f[i + 1]; if (f[i] == "ipv6_address:") v6 = f[i + 1] }
    print svc, v4, v6 }' "$top/docker-compose.yml" | sort)
if [ -z "$vm" ] || [ "$vm" != "$compose" ]; then
  echo "the VM lab and the compose lab differ"
  echo "== tests/vm/guest-lab.sh =="; echo "$vm"
  echo "== docker-compose.yml =="; echo "$compose"
  exit 1
fi
echo "same topology, $(echo "$vm" | wc -l) addresses:"; echo "$vm"
