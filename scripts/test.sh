#!/usr/bin/env bash
# Sets up and runs every check: lint + format, typecheck, build, all tests (real tmux, real sshd) and the
# packed-install check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
# A run stopped early (Ctrl-C, a kill of its group) never reaches the tests' own cleanup, and the tmux
# servers, zellij servers and sshd they started daemonize out of the group: each carries this run's mark in
# its environment, and everything with the mark is ended here.
export MC_TEST_RUN="mc-test-$$-$RANDOM"
stop_tests() {
  grep -lxzs -- "MC_TEST_RUN=$MC_TEST_RUN" /proc/[0-9]*/environ 2>/dev/null | while read -r e; do
    pid=${e#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] || kill -KILL "$pid" 2>/dev/null || true
  done
}
trap 'stop_tests; exit 130' INT
trap 'stop_tests; exit 143' TERM
trap 'stop_tests; exit 129' HUP
pnpm test
# What users install: pack, publint, attw, npm install of the tarballs, --version and a dry run.
bash scripts/pack-check.sh
