#!/usr/bin/env node
// Fake cmd.exe for the tests. It receives the raw command line in FAKE_CMDLINE (what CreateProcess would
// pass it) and models, from `cmd /?` and Microsoft's KB830473:
// - `/s /c "<line>"`: /s strips the first and the last quote of what follows /c, nothing else;
// - lines over 8,191 characters: "The command line is too long.", exit 1;
// - %NAME% expanded from the environment (case-insensitive; an undefined one stays as written);
// - `&&`, `||` and `&` between commands (outside quotes), `exit N` / `exit /b N`; the exit code is the
//   last command's. Each command itself runs through /bin/sh (the stand-in for CreateProcess).
// Without /c it is an interactive cmd kept in a tab: it records that it runs and waits.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exitWith, expandEnv } from "./lib.mjs";

const raw = process.env.FAKE_CMDLINE ?? "";
const m = /^((?:\/[a-z]\s+)*)\/c\s?(.*)$/is.exec(raw.trim());
if (!m) {
  if (process.env.FAKE_PWSH_STATE)
    writeFileSync(
      join(process.env.FAKE_PWSH_STATE, `shell-${process.pid}.json`),
      // A PowerShell started from this shell would inherit its PSExecutionPolicyPreference.
      JSON.stringify({
        shell: "cmd",
        ...(process.env.PSExecutionPolicyPreference === undefined
          ? {}
          : { executionPolicy: process.env.PSExecutionPolicyPreference }),
      }),
    );
  process.on("SIGINT", () => {});
  setInterval(() => {}, 1 << 30);
} else {
  if (raw.length > 8191) {
    process.stderr.write("The command line is too long.\n");
    exitWith(1);
  }
  let line = m[2];
  if (/\/s/i.test(m[1]) && line.startsWith('"')) {
    const last = line.lastIndexOf('"');
    line = last > 0 ? line.slice(1, last) + line.slice(last + 1) : line.slice(1);
  }
  line = expandEnv(line);
  const parts = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') q = !q;
    const op = q ? undefined : ["&&", "||", "&"].find((o) => line.startsWith(o, i));
    if (op) {
      parts.push({ cmd: cur.trim(), next: op });
      cur = "";
      i += op.length - 1;
    } else cur += c;
  }
  parts.push({ cmd: cur.trim(), next: undefined });
  let code = 0;
  let skip = false;
  for (const p of parts) {
    if (!skip && p.cmd) {
      const e = /^exit(?:\s+\/b)?\s+(-?\d+)$/i.exec(p.cmd);
      if (e) exitWith(Number(e[1]));
      code = await new Promise((res) =>
        spawn("/bin/sh", ["-c", p.cmd], { stdio: "ignore" }).on("exit", (c) => res(c ?? 1)),
      );
    }
    skip = (p.next === "&&" && code !== 0) || (p.next === "||" && code === 0);
  }
  exitWith(code);
}
