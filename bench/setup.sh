#!/bin/sh
# Installs the optional native tools the bench compares against or measures with:
#   nginx-light  the nginx contender (one worker, upstream keep-alive)
#   wrk          paced load for the added-latency scenario (else autocannon, which bursts)
# Debian/Ubuntu; needs root (or sudo). The bench runs without them and says what it skipped.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends nginx-light wrk
# The packaged service is not needed: the bench starts its own nginx on a free port.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
nginx -v
wrk --version 2>&1 | head -1 || true
