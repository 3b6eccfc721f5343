#!/usr/bin/env node
// `powershell` and `pwsh` on the fake Windows machine's PATH. What mc's own remote layer sends (the stdin
// stub, @mc/core's encoded scripts, @mc/wt's interactive launch) is done by win-ps-model.mjs; everything
// else (@mc/wt's probe, launch, tab wrapper, kill, attach) goes to @mc/wt's fake pwsh (FAKE_WT_PWSH), with
// its exit code (32-bit, through FAKE_EXIT_DIR) passed on.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { exitWith, posixPath, psLiteral, readExitCode } from "./win-lib.mjs";
import { runScript, runStdinScript } from "./win-ps-model.mjs";

const STDIN_STUB =
  "& ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))))";
const RUN_FILE = /^& \(\[scriptblock\]::Create\(\[System\.IO\.File\]::ReadAllText\(('(?:[^']|'')*')\)\)\)$/;

const argv = process.argv.slice(2);
const at = argv.indexOf("-EncodedCommand");
const encoded = at >= 0 ? Buffer.from(argv[at + 1] ?? "", "base64").toString("utf16le") : undefined;

async function main() {
  if (encoded === STDIN_STUB) {
    const text = Buffer.from(readFileSync(0, "utf8").trim(), "base64").toString("utf8");
    return exitWith(await runStdinScript(text));
  }
  if (encoded !== undefined) {
    const file = RUN_FILE.exec(encoded);
    const script = file ? readFileSync(posixPath(psLiteral(file[1], 0)[0]), "utf8") : encoded;
    if (!file || script.startsWith("# mc:interactive-launch v1\n")) {
      const code = await runScript(script.replace(/^\uFEFF/, ""));
      if (code !== undefined) return exitWith(code);
    }
  }
  // -WindowStyle Hidden only hides a console window: nothing to model, and @mc/wt's fake does not take it.
  const rest = argv.flatMap((a, i) => (a === "-WindowStyle" || argv[i - 1] === "-WindowStyle" ? [] : [a]));
  const child = spawn(process.execPath, [process.env.FAKE_WT_PWSH, ...rest], { stdio: "inherit" });
  for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => child.kill(s));
  child.on("exit", (code, signal) => exitWith(readExitCode(child.pid, code ?? (signal ? 1 : 0))));
}

await main();
