#!/usr/bin/env bash
# Sets up and runs every check: lint + format, typecheck, build, all tests (real tmux, real sshd) and the
# packed-install check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
pnpm test
# What users install: pack, publint, attw, npm install of the tarballs, --version and a dry run.
bash scripts/pack-check.sh
