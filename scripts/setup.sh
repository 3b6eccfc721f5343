#!/usr/bin/env bash
# Installs what mc's build and tests need on a fresh machine with Node 20: the pinned pnpm, the
# workspace's packages, (as root, with apt) tmux and openssh-server for the real-binary suites, and,
# where cargo is present, the pinned zellij built from crates.io into a per-user cache outside the
# repository (MC_SKIP_ZELLIJ=1 skips it; the real zellij suites then say they skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" --no-fund --no-audit >/dev/null
fi
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ "${MC_SKIP_SSHD:-0}" != 1 ] && [ ! -x /usr/sbin/sshd ]; then need+=(openssh-server); fi
# The remote suites also try fish as a login shell and a skewed host clock (libfaketime); without them
# those cases report themselves skipped.
if [ "${MC_SKIP_SSHD:-0}" != 1 ]; then
  command -v fish >/dev/null 2>&1 || need+=(fish)
  [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || [ "$(uname -m)" != x86_64 ] || need+=(faketime)
fi
# Interactive tabs (--interactive-shell) are tested under bash, zsh and sh; without zsh its cases skip.
command -v zsh >/dev/null 2>&1 || need+=(zsh)
# import/export is checked against the real tmuxp and tmuxinator (and the Ruby YAML tmuxinator reads with),
# and the bench compares launch times with them; without them those cases report themselves skipped.
command -v tmuxp >/dev/null 2>&1 || need+=(tmuxp)
command -v tmuxinator >/dev/null 2>&1 || need+=(tmuxinator)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} with apt-get"
    # A package the mirror does not have leaves its suites skipped (they say so), not the setup failed.
    apt-get update -qq >/dev/null || echo "warning: apt-get update failed" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
      echo "warning: apt-get could not install ${need[*]}; the suites that need them report themselves skipped" >&2
  else
    echo "note: ${need[*]} not installed (not root or no apt); the suites that need them report themselves skipped" >&2
  fi
fi

ZELLIJ_VERSION=0.45.0
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/mc-tools"
if [ "${MC_SKIP_ZELLIJ:-0}" != 1 ] && [ ! -x "$TOOLS/zellij-$ZELLIJ_VERSION/bin/zellij" ]; then
  if command -v cargo >/dev/null 2>&1; then
    # Without the vendored OpenSSL the build links Debian's libssl through pkg-config.
    if ! pkg-config --exists openssl 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-config libssl-dev make perl gcc >/dev/null
    fi
    mkdir -p "$TOOLS/build-log"
    log="$TOOLS/build-log/zellij-$ZELLIJ_VERSION.log"
    echo "building zellij $ZELLIJ_VERSION from crates.io into $TOOLS (once per machine; about 8 minutes on 2 cores; log: $log)"
    start=$(date +%s)
    if OPENSSL_NO_VENDOR=1 CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      CARGO_TARGET_DIR="$TOOLS/target" cargo install --locked "zellij@$ZELLIJ_VERSION" \
      --root "$TOOLS/zellij-$ZELLIJ_VERSION" --no-default-features >"$log" 2>&1; then
      echo "zellij $ZELLIJ_VERSION built in $(($(date +%s) - start)) s"
    else
      echo "warning: building zellij $ZELLIJ_VERSION failed (see $log); the real zellij suites will report themselves skipped" >&2
    fi
  else
    echo "note: cargo is not installed, so zellij $ZELLIJ_VERSION is not built; the real zellij suites report themselves skipped" >&2
  fi
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm build >/dev/null
