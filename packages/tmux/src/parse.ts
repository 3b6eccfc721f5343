/** One pane from {@link PANE_FORMAT} output. */
export interface PaneRow {
  session: string;
  /** The name mc gave the session (tmux's own name can differ: `.`/`:` become `_`). */
  mcName: string;
  windowId: string;
  windowName: string;
  paneId: string;
  pid: number;
  dead: boolean;
  deadStatus?: number;
  /** The run id mc stamped on the session (empty for sessions mc did not build). */
  runId: string;
  /** tmux's id of the session (`$3`). */
  sessionId: string;
  /** Exit status the tab wrapper stamped on the pane (`@mc_exit`), once its command ended. */
  exit?: number;
  startCommand: string;
}

/** Parse `list-panes -a -F PANE_FORMAT` output. Lines that do not have every field are skipped. */
export function parsePanes(stdout: string): PaneRow[] {
  const rows: PaneRow[] = [];
  for (const line of stdout.split("\n")) {
    const f = line.split("\t");
    if (f.length < 12) continue;
    // pane_start_command is last and may itself hold tabs: join the rest back.
    const [session, mcName, windowId, windowName, paneId, pid, dead, deadStatus, runId, sessionId, exit] = f;
    rows.push({
      session: session!,
      mcName: mcName!,
      windowId: windowId!,
      windowName: windowName!,
      paneId: paneId!,
      pid: Number(pid),
      dead: dead === "1",
      ...(deadStatus ? { deadStatus: Number(deadStatus) } : {}),
      runId: runId!,
      sessionId: sessionId!,
      ...(exit ? { exit: Number(exit) } : {}),
      startCommand: f.slice(11).join("\t"),
    });
  }
  return rows;
}

/** One session from `list-sessions -F SESSION_FORMAT`: the display name is mc's name when set. */
export function parseSessions(
  stdout: string,
): { key: string; name: string; id: string; runId: string; named: boolean }[] {
  return stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [key, mcName, id, runId] = l.split("\t");
      return { key: key!, name: mcName || key!, id: id ?? "", runId: runId ?? "", named: Boolean(mcName) };
    });
}

/**
 * A pane's start command (`#{pane_start_command}`) back as its argv. tmux 3.3a writes each argument
 * through its args_escape: in "…" when it holds a space or one of `#';$\{}%` (`"` and `$` then escaped),
 * in '…' when it holds a space or `"` only, else bare; in every form a backslash and control bytes are
 * vis(3) C-style escapes (`\\`, `\t`, `\001`), a leading `~` is `\~` and valid UTF-8 stays as is. A
 * command given as one string (run with `sh -c`) comes back as one argument.
 */
export function startArgv(s: string): string[] {
  // No quote and no escape (mc's own panes, mostly): the arguments are the words.
  if (!/["'\\]/.test(s)) return s.split(" ").filter((w) => w !== "");
  const named: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, s: 32 };
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === " ") {
      i++;
      continue;
    }
    const q = s[i] === '"' || s[i] === "'" ? s[i++] : undefined;
    const bytes: number[] = [];
    while (i < s.length && s[i] !== (q ?? " ")) {
      if (s[i] === "\\" && i + 1 < s.length) {
        const oct = /^[0-7]{3}/.exec(s.slice(i + 1, i + 4))?.[0];
        if (oct) {
          bytes.push(Number.parseInt(oct, 8) & 0xff);
          i += 4;
          continue;
        }
        const e = s[i + 1]!;
        if (named[e] !== undefined) bytes.push(named[e]!);
        else bytes.push(...Buffer.from(e, "utf8"));
        i += 2;
        continue;
      }
      const c = String.fromCodePoint(s.codePointAt(i)!);
      bytes.push(...Buffer.from(c, "utf8"));
      i += c.length;
    }
    if (q) i++;
    out.push(Buffer.from(bytes).toString("utf8"));
  }
  return out;
}

/**
 * The wrapper and tab of a pane mc started: its argv is `/bin/sh <tabs.sh> <index> [<attempt>]` (earlier
 * releases ran `exec /bin/sh <tabs.sh> <index>` as one `sh -c` string; both are read). Undefined for any
 * other pane (one the user split off, another tool's window).
 */
export function mcPaneCommand(
  startCommand: string,
): { tabScript: string; index: number; attempt: number } | undefined {
  let argv = startArgv(startCommand);
  if (argv.length === 1) {
    const m = /^exec (\/bin\/sh) ('(?:[^']|'\\'')*'|\S+) (\d+)(?: (\d+))?$/.exec(argv[0]!);
    if (!m) return undefined;
    const script = m[2]!.startsWith("'") ? m[2]!.slice(1, -1).replace(/'\\''/g, "'") : m[2]!;
    argv = [m[1]!, script, m[3]!, ...(m[4] ? [m[4]] : [])];
  }
  const [sh, tabScript, index, attempt, ...rest] = argv;
  if (sh !== "/bin/sh" || tabScript === undefined || rest.length > 0) return undefined;
  if (!/^\d+$/.test(index ?? "") || (attempt !== undefined && !/^\d+$/.test(attempt))) return undefined;
  return { tabScript, index: Number(index), attempt: attempt === undefined ? 1 : Number(attempt) };
}

/** The tab index of a pane mc started with `tabScript` (undefined for every other pane). */
export function paneTabIndex(startCommand: string, tabScript: string): number | undefined {
  return paneTab(startCommand, tabScript)?.index;
}

/** The tab and first attempt of a pane mc started with `tabScript` (undefined for every other pane). */
export function paneTab(
  startCommand: string,
  tabScript: string,
): { index: number; attempt: number } | undefined {
  const p = mcPaneCommand(startCommand);
  return p?.tabScript === tabScript ? { index: p.index, attempt: p.attempt } : undefined;
}
