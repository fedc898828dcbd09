#!/usr/bin/env bash
# Training-throughput benchmark (README, "Performance"): every variant interleaved, 3 rounds.
# Usage: scripts/bench.sh [lowtf bench options], e.g. scripts/bench.sh --batch 128 --rounds 5
# Time to accuracy instead: scripts/bench.sh --to-accuracy 0.992
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/lowtf bench "$@"
