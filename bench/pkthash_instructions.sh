#!/usr/bin/env bash
# Instructions per packet of the module's hash-and-enqueue path, counted by
# callgrind (exact and repeatable, unlike time). Usage: bench/pkthash_instructions.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
bin="$build/bench/pkthash_bench"
n=200000
for family in 4 6; do
  for size in 64 1500; do
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*HashAndEnqueue*' \
      "$bin" --iterations $n --only $size --family $family >/dev/null 2>&1
    ir=$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{ print $2 }')
    rm -f "$out"
    awk -v ir="$ir" -v n=$n -v s=$size -v f=$family \
      'BEGIN { printf "hash+enqueue IPv%d %4d-byte packet: %.0f instructions/packet (callgrind)\n", f, s, ir / n }'
  done
done
