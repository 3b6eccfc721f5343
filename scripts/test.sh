#!/usr/bin/env bash
# Sets up and runs every check: lint + format, typecheck, build, and all tests (real tmux, real sshd).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
pnpm test
