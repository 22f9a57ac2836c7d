#!/usr/bin/env bash
# Install everything, render the demo camera's video, and start the service with the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/hotspot demo "$@"
