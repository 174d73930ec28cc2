#!/usr/bin/env bash
# The two commands a new user needs on a fresh Debian machine:
#   ./run.sh demo   set everything up, deploy the reference project's lab, verify it, write the report
#   ./run.sh test   set everything up and run every test (lint, types, unit, live, end-to-end)
# Set-up is idempotent: system packages, a virtualenv in .venv, and a Docker engine.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
VENV="$HERE/.venv"

log() { printf '\n== %s\n' "$*" >&2; }

SYSTEM_PACKAGES=(git python3-venv python3-dev ca-certificates curl iproute2 procps
  docker.io debootstrap prometheus prometheus-alertmanager prometheus-node-exporter
  caddy postgresql testssl.sh)

setup_system() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "run as root, or install them first: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's postinst scripts try to start services; the tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

setup_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing harness and its dependencies into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[dev]"
    echo "$want" > "$stamp"
  fi
  # An editable install has no bytecode, and PYTHONDONTWRITEBYTECODE (set on some CI images) keeps Python
  # from writing it: compile once, as a wheel install would, so every harness start does not recompile.
  "$VENV/bin/python" -m compileall -q harness >/dev/null
  export PATH="$VENV/bin:$PATH"
}

setup_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "no Docker engine is running and this is not root: start one (sudo dockerd &) or run as root" >&2
    exit 2
  fi
  log "starting dockerd"
  mkdir -p /var/log
  (dockerd >/var/log/harness-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not start within 60 s; see /var/log/harness-dockerd.log" >&2
  tail -20 /var/log/harness-dockerd.log >&2 || true
  exit 2
}

setup() {
  setup_system
  setup_python
  setup_docker
}

case "${1:-}" in
  demo)
    shift
    setup
    exec harness demo "$@"
    ;;
  test)
    shift
    setup
    log "lint"
    ruff check harness tests bench infra reference_project
    ruff format --check harness tests bench infra reference_project
    mypy harness
    log "tests"
    exec python -m pytest -q -p no:cacheprovider --durations=12 "$@"
    ;;
  setup)
    setup
    ;;
  *)
    echo "usage: ./run.sh demo|test|setup" >&2
    exit 2
    ;;
esac
