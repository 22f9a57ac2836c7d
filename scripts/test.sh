#!/usr/bin/env bash
# Install everything, then run the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
# Two processes, one test file each at a time (module fixtures stay in one process): most tests
# wait on real-time video, servers and the browser, so two keep both cores busy.
exec .venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadfile "$@"
