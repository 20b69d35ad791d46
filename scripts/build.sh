#!/usr/bin/env bash
# Configures and builds hoplat. Usage: scripts/build.sh [BUILD_DIR [CMAKE_ARGS...]]
# Default BUILD_DIR is build/ (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
