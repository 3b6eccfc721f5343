#!/usr/bin/env node
// Built as CommonJS (dist/bin.cjs): node starts a CommonJS entry a few ms sooner than an ES module.
import { join } from "node:path";

declare const __MC_VERSION__: string;

// A closed pipe (`sessions status | head -1`) ends the program quietly, as git does; except for a command
// that owns work: `run --max-parallel-tabs 2>&1 | head -2` exited 0 and left every tab it had not started
// abandoned (review H59-2). That one carries on without the stream, as without a terminal, and ends with
// its own exit code; so for any other write error (a full disk: H63-1). Another command ends with 1 then.
let owns: boolean | undefined;
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    owns ??= (require("./compile-cache.js") as typeof import("./compile-cache.js")).ownsWork(
      process.argv.slice(2),
    );
    // The terminal went away (mc killed the session it runs in): finish the work without a screen.
    if (owns || e.code === "EIO" || e.code === "ERR_STREAM_DESTROYED") return;
    process.exit(e.code === "EPIPE" ? (process.exitCode ?? 0) : 1);
  });
}

// Node warns "The 'NO_COLOR' env is ignored due to the 'FORCE_COLOR' env being set" (its lib/internal/
// tty.js) when a stream's colour depth is asked with both set. mc's rule is the same (FORCE_COLOR wins, said
// in --help and the README); the raw warning, with its `node --trace-warnings` advice, is not for the user
// (review H57-10). Every other warning still shows.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  const text = typeof warning === "string" ? warning : warning.message;
  if (/^The 'NO_COLOR' env is ignored due to the 'FORCE_COLOR' env being set/.test(text)) return;
  return (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

// `sessions --version` must cost no more than starting node: answer before loading anything else.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${typeof __MC_VERSION__ === "string" ? __MC_VERSION__ : "0.0.0-dev"}\n`);
} else {
  // Loaded here, not above: --version needs neither it nor node:crypto and node:vm.
  const { commandOf, loadBundle } = require("./compile-cache.js") as typeof import("./compile-cache.js");
  const bundle = loadBundle(join(__dirname, "main.cjs"), { command: commandOf(args) });
  const main = bundle.exports.main as (argv: string[]) => Promise<number>;
  void main(process.argv).then((code) => {
    process.exitCode = code;
    const saved = bundle.save(bundle.exports.isCommand as (w: string) => boolean);
    // The path comes from the environment (MC_CACHE_DIR, HOME): control characters shown escaped.
    const path = (bundle.file ?? "off").replace(
      /[\u0000-\u001f\u007f-\u009f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
    if (process.env.MC_DEBUG_COMPILE_CACHE)
      process.stderr.write(`compile cache: ${bundle.state}, ${saved} (${path})\n`);
    // Interrupted: the work is rolled back and said; an ssh still connecting to a host that hangs (or a
    // lock still waited for) must not hold the exit for its own timeout.
    // So for a timeout (7): `wait --timeout` leaves a status call to a tool that does not answer.
    // So for a follow or watch stopped while such a call pended (review H60-3).
    const soon = (bundle.exports.exitingSoon as (() => boolean) | undefined)?.() === true;
    if (code === 130 || code === 7 || soon) setTimeout(() => process.exit(code), 200).unref();
  });
}
