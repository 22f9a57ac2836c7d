#!/usr/bin/env bash
# Install everything Hotspot Monitor needs into ./.venv (and, with --test, what the tests need).
# System packages come from Debian: Chromium (browser tests), GStreamer's RTSP server (stream
# tests), PostgreSQL (database outage tests), Motion (benchmark peer), Mosquitto (MQTT tests) and
# age (opening encrypted originals with the standard tool). Python packages come from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

system_packages=(fonts-dejavu-core)  # the incident report embeds DejaVu for any language's text
if [[ "${1:-}" == "--test" ]]; then
  system_packages+=(poppler-utils chromium gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
                   gstreamer1.0-plugins-good gstreamer1.0-plugins-bad motion postgresql mosquitto age)
fi

missing=()
for pkg in "${system_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  for attempt in 1 2 3 4 5; do
    if $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
         --no-install-recommends "${missing[@]}"; then
      break
    fi
    echo "apt-get failed (attempt $attempt); the package lock may be held, retrying" >&2
    sleep 5
  done
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ "${1:-}" == "--test" ]]; then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
