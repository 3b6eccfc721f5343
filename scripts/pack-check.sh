#!/usr/bin/env bash
# What a user installs, checked as they would get it: every published package is packed (pnpm pack turns
# workspace:* into versions), linted with publint and @arethetypeswrong/cli, installed from its tarball into
# an empty folder with npm. The CLI is installed alone (it is one bundle) and answers --version and plans the
# bundled example; the libraries are imported and require()d as a consumer would.
# Needs the build (scripts/test.sh runs it after `pnpm test`, which builds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/mc-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT

packages=(packages/core packages/tmux packages/zellij packages/wt packages/remote apps/cli)
for p in "${packages[@]}"; do
  (cd "$p" && pnpm pack --pack-destination "$work" >/dev/null)
  # publint: what the package.json promises (exports, files, types) exists in what is packed.
  (cd "$p" && "$root/node_modules/.bin/publint" --level warning --strict >/dev/null) || {
    (cd "$p" && "$root/node_modules/.bin/publint" --level warning --strict)
    echo "pack-check: publint failed for $p" >&2
    exit 1
  }
done

# attw: the types resolve under node16 (from ESM and from CommonJS) and bundler resolution (the CLI is a
# binary only). The packages are ESM that a `require` reaches too (the `default` condition): node16 types call
# that "dynamic import only" (cjs-resolves-to-esm), which is what the READMEs say for Node < 20.19 and
# TypeScript's node16; Node 20.19+ and TypeScript's node20/nodenext load them, checked below.
for tgz in "$work"/mc-core-*.tgz "$work"/mc-tmux-*.tgz "$work"/mc-zellij-*.tgz "$work"/mc-wt-*.tgz "$work"/mc-remote-*.tgz; do
  "$root/node_modules/.bin/attw" "$tgz" --profile node16 --ignore-rules cjs-resolves-to-esm \
    --format table-flipped >"$work/attw.txt" 2>&1 || {
    cat "$work/attw.txt"
    echo "pack-check: @arethetypeswrong/cli failed for $(basename "$tgz")" >&2
    exit 1
  }
done

# The CLI's tarball alone (not the workspace, no other tarball, no registry: --offline) into an empty folder,
# as `npm install -g @mc/cli` gets it: the bundle has the backends and every library in it, so installing it
# brings nothing else, and nothing else is needed to run it.
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --offline --no-audit --no-fund --loglevel=error "$work"/mc-cli-*.tgz >/dev/null || {
  echo "pack-check: @mc/cli does not install from its own tarball alone: it lists a dependency (bundled ones are devDependencies)" >&2
  exit 1
}
installed=$(cd node_modules && find . -mindepth 1 -maxdepth 2 -not -path './.*' -not -path './@mc' | sort | tr '\n' ' ')
[ "$installed" = "./@mc/cli " ] || {
  echo "pack-check: installing @mc/cli brought more than itself: $installed" >&2
  exit 1
}
bin=./node_modules/.bin/sessions
version=$("$bin" --version)
echo "pack-check: installed sessions $version from its own tarball alone"
cp "$root/examples/demo.jsonc" ./demo.jsonc
# Twice: the first start compiles the bundle and writes its code cache (in the work folder, not the
# user's ~/.cache), the second must be compiled from it, as installed from the tarballs.
for pass in first second; do
  MC_STATE_DIR="$work/state" MC_CACHE_DIR="$work/cache" MC_DEBUG_COMPILE_CACHE=1 \
    "$bin" run demo.jsonc --backend tmux --dry-run >"$work/plan.txt" 2>"$work/plan.err" || {
    cat "$work/plan.txt" "$work/plan.err"
    echo "pack-check: the installed sessions could not plan examples/demo.jsonc" >&2
    exit 1
  }
done
grep -q "source-file" "$work/plan.txt" || { cat "$work/plan.txt"; echo "pack-check: no tmux plan" >&2; exit 1; }
grep -q "^compile cache: used" "$work/plan.err" || {
  cat "$work/plan.err"
  echo "pack-check: the installed sessions did not start from its compile cache on its second run" >&2
  exit 1
}
# A library user installs core and the one backend they need: nothing else comes with it.
mkdir "$work/lib"
cd "$work/lib"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$work"/mc-core-*.tgz "$work"/mc-tmux-*.tgz >/dev/null
test ! -e node_modules/@mc/zellij && test ! -e node_modules/@mc/wt && test ! -e node_modules/@mc/cli
node --input-type=module -e '
  import { TmuxLocalManager } from "@mc/tmux";
  import { parseLayouts } from "@mc/core";
  const r = parseLayouts(JSON.stringify({ version: "0.1", layouts: [{ layoutName: "a", layoutTabs: [{ tabName: "t", startDir: "~", command: "true" }] }] }));
  if (!r.ok || typeof TmuxLocalManager !== "function") process.exit(1);
'
# The layouts JSON Schema ships with @mc/core.
test -s node_modules/@mc/core/schema/layouts.schema.json
echo "pack-check: @mc/core + @mc/tmux alone import and validate a layout"

# From CommonJS: every entry of every library is require()d (Node 20.19+ loads ESM that way; the READMEs
# tell older Node to use import()). @mc/core/testing needs vitest, which a library user does not have.
npm install --no-audit --no-fund --loglevel=error "$work"/mc-zellij-*.tgz "$work"/mc-wt-*.tgz "$work"/mc-remote-*.tgz >/dev/null
cat >require-all.cjs <<'CJS'
const entries = ["@mc/core", "@mc/tmux", "@mc/zellij", "@mc/wt", "@mc/wt/testing", "@mc/remote",
  "@mc/remote/tmux", "@mc/remote/zellij", "@mc/remote/wt", "@mc/remote/testing"];
for (const e of entries) if (Object.keys(require(e)).length === 0) throw new Error(`${e}: nothing exported`);
const { McError } = require("@mc/core");
if (!(require("@mc/tmux").TmuxLocalManager && new McError("USAGE", "x") instanceof Error)) process.exit(1);
CJS
if node -e 'process.exit(process.features.require_module ? 0 : 1)'; then
  node require-all.cjs || { echo "pack-check: require() of a library failed" >&2; exit 1; }
  echo "pack-check: every library entry require()s from CommonJS (node $(node --version))"
else
  echo "pack-check: NOT CHECKED: require() of the libraries (node $(node --version) has no require(esm); 20.19+ has)"
fi
# TypeScript consumers, with mc's declarations checked too (skipLibCheck off): an ES module (the tmux README's
# example, and every library) and a CommonJS one (module node20/nodenext, as the READMEs say). The types use
# Node's (NodeJS.ProcessEnv, Buffer): with @types/node (an optional peer) they compile; without it the only
# errors are those names, which is why the READMEs ask for @types/node.
cat >consumer.mts <<'TS'
import { readLayoutsFile } from "@mc/core";
import { TmuxLocalManager } from "@mc/tmux";
import { ZellijLocalManager } from "@mc/zellij";
import { WTLocalManager } from "@mc/wt";
import { sshHost } from "@mc/remote";
import { TmuxRemoteManager } from "@mc/remote/tmux";
import { ZellijRemoteManager } from "@mc/remote/zellij";
import { WTRemoteManager } from "@mc/remote/wt";
const m = new TmuxLocalManager({ sessionLayouts: (await readLayoutsFile("layouts.json")).layouts, sessionNamePrefix: "ops" });
await m.startAllSessions({ onConflict: "rename" });
console.log(m.attachToSession(), ZellijLocalManager, WTLocalManager, sshHost, TmuxRemoteManager, ZellijRemoteManager, WTRemoteManager);
TS
cat >consumer.cts <<'TS'
import { parseLayouts } from "@mc/core";
import { TmuxLocalManager } from "@mc/tmux";
const r = parseLayouts("{}");
console.log(r.ok, TmuxLocalManager);
TS
tsc=("$root/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck false --target es2022)
test ! -e node_modules/@types/node
for module in nodenext node20; do
  "${tsc[@]}" --module "$module" --typeRoots "$root/node_modules/@types" --types node consumer.mts consumer.cts || {
    echo "pack-check: a TypeScript consumer (module $module, with @types/node) does not compile" >&2
    exit 1
  }
done
if "${tsc[@]}" --module nodenext consumer.mts consumer.cts >"$work/tsc.txt"; then
  echo "pack-check: mc's types compile without @types/node now: drop the optional peer and the READMEs' line" >&2
  exit 1
fi
if grep -vE "^node_modules/@mc/[^(]+\.d\.ts\([0-9]+,[0-9]+\): error TS(2503|2580|2591): Cannot find (namespace 'NodeJS'|name 'Buffer')" "$work/tsc.txt"; then
  echo "pack-check: without @types/node a TypeScript consumer fails on more than Node's names (above)" >&2
  exit 1
fi
echo "pack-check: TypeScript consumers (ESM, CommonJS) compile with @types/node; without it only Node's names are missing"
echo "pack-check: publint, attw, npm install, --version and a dry run from the tarballs: ok"
