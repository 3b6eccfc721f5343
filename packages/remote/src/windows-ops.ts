import { ABSENT, type Frame, type Op } from "./batch.js";
import { sshError } from "./errors.js";
import type { SshResult } from "./spawn.js";
import {
  checkWinPath,
  PS_NOT_FOUND,
  type PsCall,
  parsePsDir,
  parsePsWinTable,
  psInfo,
  psProcessTable,
  psReadDir,
  psReadFile,
  psRemove,
  psRun,
  psStat,
  psWhich,
  psWriteFile,
} from "./windows.js";

/** The PowerShell call for one operation (Windows hosts only). */
export function windowsCall(op: Op, env?: Readonly<Record<string, string>>): PsCall {
  switch (op.kind) {
    case "run":
      return psRun(op.cmd, env);
    case "readFile":
      checkWinPath(op.path);
      return psReadFile(op.path);
    case "readDir":
      checkWinPath(op.dir);
      return psReadDir(op.dir);
    case "writeFile":
      checkWinPath(op.path);
      return psWriteFile(op.path, op.tmp, op.data);
    case "stat":
      return psStat(op.path);
    case "remove":
      return psRemove(op.path);
    case "which":
      return psWhich(op.file);
    case "info":
      return psInfo();
    case "ps":
      return psProcessTable();
  }
}

/** Run one operation on a Windows host and answer it with a frame, as the POSIX batch would. */
export async function runWindowsOp(
  it: { op: Op; resolve(f: Frame): void; reject(e: unknown): void },
  exec: (line: string, input?: string, timeoutMs?: number) => Promise<SshResult>,
  id = "windows host",
  env?: Readonly<Record<string, string>>,
): Promise<void> {
  try {
    const call = windowsCall(it.op, env);
    const timeout = it.op.kind === "run" ? it.op.cmd.timeoutMs : undefined;
    const r = await exec(call.line, call.input, timeout);
    const out = r.stdout.toString("utf8");
    if (r.exitCode === 255 && it.op.kind !== "run") throw sshError(id, it.op.kind, r.exitCode, r.stderr);
    const frame: Frame = {
      index: 0,
      status: r.exitCode,
      out: r.stdout,
      err: Buffer.from(r.stderr),
      flags: it.op.kind === "run" && r.exitCode === 127 && r.stderr.includes(PS_NOT_FOUND) ? "nf" : "-",
      kind: "win",
    };
    if (it.op.kind === "readFile" && r.exitCode === 0) frame.out = Buffer.from(out.trim(), "base64");
    if (it.op.kind === "readDir" && r.exitCode === 0) frame.files = parsePsDir(out);
    if (it.op.kind === "ps" && r.exitCode === 0) frame.table = parsePsWinTable(out);
    if ((it.op.kind === "readFile" || it.op.kind === "readDir") && r.exitCode === ABSENT)
      frame.status = ABSENT;
    it.resolve(frame);
  } catch (e) {
    it.reject(e);
  }
}
