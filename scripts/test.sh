#!/usr/bin/env bash
# Runs every test of hoplat: installs dependencies, builds, runs the whole
# ctest suite, then runs it again built with AddressSanitizer and
# UndefinedBehaviorSanitizer. This is the README's test command and what CI runs.
# Needs no root where the packages are present (install-deps.sh then only
# checks them); without read access to /boot/vmlinuz-* (Debian makes it
# root-only) the tests that boot a guest show as skipped, saying so.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/install-deps.sh

echo "== build (RelWithDebInfo) =="
scripts/build.sh build
echo "== tests =="
(cd build && ctest --output-on-failure -j 2 --timeout 600)

if [ "$quick" -eq 0 ]; then
  echo "== build (ASan + UBSan) =="
  scripts/build.sh build-asan -DHOPLAT_SANITIZE=ON
  echo "== tests under ASan + UBSan =="
  # The crash test _exit()s the collector on purpose: leaks there are expected.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j 2 --timeout 900)
fi
