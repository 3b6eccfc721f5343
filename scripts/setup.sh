#!/usr/bin/env bash
# Installs what mc's build and tests need on a fresh machine with Node 20: the pinned pnpm, the
# workspace's packages, and (as root, with apt) tmux and openssh-server for the real-binary suites.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" --no-fund --no-audit >/dev/null
fi
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ "${MC_SKIP_SSHD:-0}" != 1 ] && [ ! -x /usr/sbin/sshd ]; then need+=(openssh-server); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} with apt-get"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} not installed (not root or no apt); the suites that need them report themselves skipped" >&2
  fi
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build >/dev/null
