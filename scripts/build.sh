#!/usr/bin/env bash
# Configures and builds trialcore into build/ (the program is build/trialcore).
set -euo pipefail
cd "$(dirname "$0")/.."
# Warnings are errors here, for development and CI (TRIALCORE_WERROR=OFF to
# build anyway); a plain `cmake` configure leaves them warnings.
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DTRIALCORE_WERROR="${TRIALCORE_WERROR:-ON}" >/dev/null
cmake --build build -j"$(nproc)"
