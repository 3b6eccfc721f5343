import { isMcError, type LayoutsFile, localHost, McError, shQuote } from "@mc/core";
import { toSocket } from "@mc/tmux";
import { type Exported, pickLayout } from "../convert/export-common.js";
import { freezeQuery, freezeTargets, freezeTmux, parseFreeze } from "../convert/freeze-tmux.js";
import { exitedZellijSession, freezeZellij } from "../convert/freeze-zellij.js";
import { importFile } from "../convert/read.js";
import { parseKdlText, parseYaml } from "../convert/source.js";
import { exportTmuxinator } from "../convert/tmuxinator-export.js";
import { exportTmuxp } from "../convert/tmuxp-export.js";
import { type ConvertWarning, type Format, type Imported, warningText } from "../convert/types.js";
import { exportZellij } from "../convert/zellij-export.js";
import { oneLine } from "../display.js";
import { readLayouts } from "../layouts-source.js";
import type { Output } from "../output.js";
import { writeOutputFile } from "../output-file.js";
import { backendOf, defaultSessionPrefix } from "../registry.js";

const usage = (reason: string, hint?: string) => new McError("USAGE", reason, { backend: "cli", hint });

/** Warnings for humans (stderr, one line each, through the display function). */
export function printWarnings(out: Output, warnings: readonly ConvertWarning[], source: string): void {
  for (const w of warnings) out.err(out.c.yellow(`warning: ${oneLine(warningText(source, w))}`));
}

/**
 * Write `text` to `output` atomically, never over the file it was made from, and over another file only with
 * `--force` (review H50-11: freeze -o replaced the layouts file the session came from, its tabWeight gone).
 */
async function writeOut(
  output: string,
  text: string,
  from: string | undefined,
  force: boolean | undefined,
): Promise<void> {
  await writeOutputFile(output, text, "-o", from, force === true);
}

/** --force without -o would be ignored silently: there is no file to keep or replace. */
function forceNeedsOutput(force: boolean | undefined, output: string | undefined): void {
  if (force && output === undefined)
    throw usage("--force goes with -o FILE", "drop --force, or name a file with -o");
}

/** The JSON of a layouts file as mc writes one (4 spaces, as create-from-command). */
const layoutsText = (file: LayoutsFile) => `${JSON.stringify(file, null, 4)}\n`;

/** Print or write an imported or frozen layouts file, with its warnings. */
async function emitLayouts(
  r: Imported,
  source: string,
  output: string | undefined,
  from: string | undefined,
  force: boolean | undefined,
  out: Output,
): Promise<number> {
  forceNeedsOutput(force, output);
  const text = layoutsText(r.file);
  if (output !== undefined) await writeOut(output, text, from, force);
  if (out.json) {
    out.printJson({
      ok: true,
      source,
      format: r.format,
      output: output ?? null,
      layouts: r.file,
      warnings: r.warnings,
    });
    return 0;
  }
  printWarnings(out, r.warnings, source);
  // A converted file on a terminal is shown (a hostile source's escapes drawn visibly); piped, it is exact.
  if (output === undefined) out.tty ? out.outText(text) : out.data(text);
  else {
    const tabs = r.file.layouts.reduce((n, l) => n + l.layoutTabs.length, 0);
    out.err(
      `${oneLine(output)}: ${r.file.layouts.length} layout, ${tabs} tab${tabs === 1 ? "" : "s"} (from ${r.format}); ${r.warnings.length} warning${r.warnings.length === 1 ? "" : "s"}`,
    );
  }
  return 0;
}

/** `sessions import FILE [-o OUT] [--from FORMAT] [--name NAME]`. */
export async function importCommand(
  file: string,
  o: { output?: string; from?: Format; name?: string; force?: boolean },
  out: Output,
): Promise<number> {
  const r = await importFile(file, { from: o.from, name: o.name });
  return emitLayouts(r, file, o.output, file, o.force, out);
}

const EXPORTERS = { tmuxp: exportTmuxp, tmuxinator: exportTmuxinator, zellij: exportZellij } as const;

/** The exporter's output read back by the tool's own kind of parser: a failure is a bug in mc. */
function selfCheck(e: Exported): void {
  try {
    if (e.format === "zellij") parseKdlText(e.text, "export");
    else if (e.format === "tmuxinator")
      parseYaml(e.text.replaceAll("<%%", "<%"), "export", undefined, "psych");
    else parseYaml(e.text, "export");
  } catch (err) {
    throw new McError("INTERNAL", `the ${e.format} file mc wrote does not parse: ${(err as Error).message}`, {
      backend: "cli",
      op: "export",
    });
  }
}

/** `sessions export FILE --to tmuxp|tmuxinator|zellij [-o OUT] [--layout NAME]`. */
export async function exportCommand(
  file: string,
  o: { to: Format; output?: string; layout?: string; lenient?: boolean; force?: boolean },
  out: Output,
): Promise<number> {
  forceNeedsOutput(o.force, o.output);
  const layouts = await readLayouts(file, o, out);
  const e = EXPORTERS[o.to](pickLayout(layouts, o.layout), process.cwd());
  selfCheck(e);
  if (o.output !== undefined) await writeOut(o.output, e.text, file, o.force);
  if (out.json) {
    out.printJson({
      ok: true,
      source: file,
      format: e.format,
      output: o.output ?? null,
      text: e.text,
      warnings: e.warnings,
    });
    return 0;
  }
  printWarnings(out, e.warnings, file);
  if (o.output === undefined) out.tty ? out.outText(e.text) : out.data(e.text);
  else
    out.err(
      `${oneLine(o.output)}: ${e.format}; ${e.warnings.length} warning${e.warnings.length === 1 ? "" : "s"}`,
    );
  return 0;
}

/** The tmux flags that reach the server freeze read (for a hint the user can run as printed). */
const socketArgs = (s: ReturnType<typeof toSocket>): string[] =>
  s === undefined ? [] : "path" in s ? ["-S", s.path] : ["-L", s.name];

const notFound = (session: string, hint: string) =>
  new McError("SESSION_NOT_FOUND", `no session ${JSON.stringify(session)}`, {
    backend: "cli",
    op: "freeze",
    hint,
  });

/** The tmux server mc's records put a live session of this name on, on this machine, and its name there. */
async function recordedSocket(session: string): Promise<{ socket: string; name: string } | undefined> {
  try {
    const { loadRuns } = await import("../registry.js");
    const { findAnySession, socketField } = await import("./runs.js");
    const found = findAnySession((await loadRuns()).runs, session, "local");
    if (found.endedAt !== undefined || found.run.backend !== "tmux") return undefined;
    const { socket } = socketField(found.run, found.machine);
    return socket === undefined ? undefined : { socket, name: found.session.name };
  } catch (e) {
    // Live on two servers by mc's records: which one is the user's to say (review HR83-3: "no session").
    if (isMcError(e, "USAGE")) throw e;
    // No record of it: the default server's answer stands.
    return undefined;
  }
}

/** `sessions freeze SESSION [-o OUT] [--socket S] [-b tmux|zellij|auto]`. */
export async function freezeCommand(
  session: string,
  o: { output?: string; socket?: string; backend?: string; zellij?: string; force?: boolean },
  out: Output,
): Promise<number> {
  const host = localHost();
  const backend = backendOf(o.backend ?? "auto");
  if (backend !== "auto" && backend !== "tmux" && backend !== "zellij")
    throw usage("--backend is tmux, zellij or auto (t, z, a)");
  // Why tmux could not say whether it has the session (not installed, or its server did not answer): under
  // `-b auto` zellij is still asked, and if it does not have the session either, this is the error, not
  // "tmux does not have it" (review H57-5: exit 5 for a tmux never run; H57-4: a stopped server).
  let tmuxFailure: McError | undefined;
  if (backend !== "zellij") {
    let r: Awaited<ReturnType<typeof host.run>> | undefined;
    let q: ReturnType<typeof freezeQuery> | undefined;
    let name = session;
    let socket = o.socket;
    const ask = async (names: string[]) => {
      for (name of names) {
        q = freezeQuery({ tmux: "tmux", socket: toSocket(socket) }, name);
        r = await host.run(q.cmd).catch((e: unknown) => {
          if (backend === "tmux" || !isMcError(e)) throw e;
          tmuxFailure = e;
          return undefined;
        });
        // A server that did not answer one name will not answer the next.
        if (!r || r.exitCode === 0 || r.timedOut) break;
      }
    };
    await ask(freezeTargets(session));
    // Not on the default server: a session mc started on another one is found where its record says, as
    // status, logs and attach find it (review HR81-4: exit 5 until --socket was typed again).
    if (socket === undefined && r?.exitCode !== 0 && !r?.timedOut) {
      const mine = await recordedSocket(session);
      if (mine) {
        const before = { r, q, name, tmuxFailure };
        socket = mine.socket;
        tmuxFailure = undefined;
        await ask([mine.name]);
        // Not there either (it ended meanwhile): what the default server said is the answer.
        if (r?.exitCode !== 0) {
          ({ r, q, name, tmuxFailure } = before);
          socket = undefined;
        } else if (!out.json)
          // Where it was read from is said: whatever runs there now under that name is what was frozen.
          out.err(
            out.c.dim(
              `note: ${oneLine(name)} read from the tmux server ${oneLine(mine.socket)}, where mc's records put it`,
            ),
          );
      }
    }
    if (r?.timedOut) {
      tmuxFailure = new McError(
        "COMMAND_FAILED",
        `cannot freeze session ${JSON.stringify(session)}: ${r.stderr.trim().split("\n").at(-1)}`,
        {
          backend: "cli",
          op: "freeze",
          hint: "a stopped or busy tmux server answers no one; MC_TMUX_TIMEOUT=SECONDS waits longer",
        },
      );
      if (backend === "tmux") throw tmuxFailure;
    }
    if (r && q && r.exitCode === 0)
      return emitLayouts(
        freezeTmux(session, parseFreeze(r.stdout, q.nonce), socketArgs(toSocket(socket)), name),
        `tmux session ${session}`,
        o.output,
        undefined,
        o.force,
        out,
      );
    if (backend === "tmux")
      throw notFound(
        session,
        `tmux says: ${(r?.stderr ?? "").trim() || "no server"}; sessions attach lists the sessions`,
      );
  }
  const zellij = o.zellij ?? "zellij";
  const r = await host
    // `--session=NAME`: clap reads a separate `-zdash` as a flag (review H66-5).
    .run({ file: zellij, args: [`--session=${session}`, "action", "dump-layout"], timeoutMs: 20000 })
    .catch((e) => (backend === "zellij" ? Promise.reject(e) : undefined));
  if (r && r.exitCode === 0 && /\blayout\b/.test(r.stdout))
    return emitLayouts(
      freezeZellij(session, r.stdout, defaultSessionPrefix("zellij")),
      `zellij session ${session}`,
      o.output,
      undefined,
      o.force,
      out,
    );
  // An EXITED session has no server for dump-layout: it is frozen from the layout zellij keeps to
  // resurrect it, or said to be EXITED (review H51-8: "neither tmux nor zellij has it").
  const exited = r ? await exitedZellijSession(host, zellij, session) : undefined;
  if (exited?.layout !== undefined) {
    const frozen = freezeZellij(session, exited.layout, defaultSessionPrefix("zellij"));
    frozen.warnings.unshift({
      at: "session",
      message: `zellij session ${session} is EXITED (not running): frozen from the layout zellij keeps to resurrect it${exited.path ? ` (${exited.path})` : ""}`,
    });
    return emitLayouts(frozen, `zellij session ${session}`, o.output, undefined, o.force, out);
  }
  if (exited)
    throw new McError(
      "SESSION_NOT_FOUND",
      `zellij session ${JSON.stringify(session)} is EXITED (not running), and zellij kept no layout of it to freeze`,
      {
        backend: "cli",
        op: "freeze",
        hint: `zellij attach -- ${shQuote(session)} resurrects it (then sessions freeze it); zellij delete-session removes it`,
      },
    );
  if (tmuxFailure?.code === "BINARY_NOT_FOUND")
    throw new McError(
      "BINARY_NOT_FOUND",
      `no session ${JSON.stringify(session)} found: ${tmuxFailure.reason}, and zellij ${r ? "does not have it" : "is not installed"}`,
      { backend: "cli", op: "freeze", hint: tmuxFailure.hint },
    );
  if (tmuxFailure)
    throw new McError(
      "COMMAND_FAILED",
      `${tmuxFailure.reason}, and zellij ${r ? "does not have it" : "is not installed"}`,
      {
        backend: "cli",
        op: "freeze",
        hint: tmuxFailure.hint,
      },
    );
  // A zellij that is not installed did not answer: only tmux was asked.
  throw notFound(
    session,
    backend === "auto"
      ? r
        ? "neither tmux nor zellij has it (--socket for another tmux server)"
        : "tmux does not have it, and zellij is not installed (--socket for another tmux server)"
      : `zellij says: ${(r?.stderr ?? "").trim()}`,
  );
}
