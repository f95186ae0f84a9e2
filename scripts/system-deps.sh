#!/usr/bin/env bash
# Install the system packages the tests need (Debian's chromium for the browser tests, and
# postgresql for the throw-away cluster of the PostgreSQL tests: tests/pg.py).
set -euo pipefail
PKGS=()
command -v chromium >/dev/null 2>&1 || PKGS+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || PKGS+=(postgresql)
if [[ ${#PKGS[@]} -eq 0 ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "${PKGS[*]} missing and we are not root: install Debian's package(s) ${PKGS[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
chromium --version
