#!/usr/bin/env bash
# Installs Debian packages talktrack needs (as root, or through sudo when available).
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "talktrack needs these Debian packages: $*" >&2
  echo "  fix: run as root: apt-get install -y --no-install-recommends $*" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
