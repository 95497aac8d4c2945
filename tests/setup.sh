#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine with Node/npm: the npm dependencies
# (deno itself comes from npm) and the real peers the tests start (redis, thrift compiler, haproxy,
# twemproxy). Idempotent: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/deno ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v thrift >/dev/null || need+=(thrift-compiler)
command -v haproxy >/dev/null || need+=(haproxy)
command -v nutcracker >/dev/null || need+=(nutcracker)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
