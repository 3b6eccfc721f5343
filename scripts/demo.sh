#!/usr/bin/env bash
# Sets up mc and runs the bundled example layout on a private tmux server (socket "mc-demo"):
# starts it, prints each tab's start and end as it happens until every tab's command has finished, then kills it.
set -euo pipefail
cd "$(dirname "$0")/.."
MC_SKIP_SSHD=1 MC_SKIP_ZELLIJ=1 bash scripts/setup.sh
node apps/cli/dist/bin.cjs run examples/demo.jsonc --socket mc-demo --on-conflict restart --monitor --interval 0.5 --kill-upon-completion
