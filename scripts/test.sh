#!/usr/bin/env bash
# Install everything, then run the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
