import { ABSENT, type Frame, type Op } from "./batch.js";
import {
  checkWinPath,
  PS_NOT_FOUND,
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

/** The PowerShell script of one operation (Windows hosts only). */
export function windowsScript(op: Op, env?: Readonly<Record<string, string>>): string {
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

/** What one script produced on the host, from its boundary on (see windows-shell.ts). */
export interface WinResult {
  exitCode: number;
  out: Buffer;
  err: string;
}

/** Runs one script on the host (the transport: stdin stub, boundary, errors). */
export type WinScriptRunner = (script: string, op: string, timeoutMs?: number) => Promise<WinResult>;

/** Run one operation on a Windows host and answer it with a frame, as the POSIX batch would. */
export async function runWindowsOp(
  it: { op: Op; resolve(f: Frame): void; reject(e: unknown): void },
  runScript: WinScriptRunner,
  env?: Readonly<Record<string, string>>,
): Promise<void> {
  try {
    const script = windowsScript(it.op, env);
    const timeout = it.op.kind === "run" ? it.op.cmd.timeoutMs : undefined;
    const r = await runScript(script, it.op.kind, timeout);
    const out = r.out.toString("utf8");
    const frame: Frame = {
      index: 0,
      status: r.exitCode,
      out: r.out,
      err: Buffer.from(r.err),
      flags: it.op.kind === "run" && r.exitCode === 127 && r.err.includes(PS_NOT_FOUND) ? "nf" : "-",
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
