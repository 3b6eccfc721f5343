import { CONFLICT_POLICIES, type ConflictPolicy, checkName, McError } from "@mc/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import { backendOf } from "../registry.js";

/**
 * A whole-number option, at least `min`: decimal digits only. `Number()` would take `0x10` (16), `1e3`,
 * `0b1`, ` 7 ` and `""` (0); a count typed by a user is never any of those.
 */
export const int =
  (name: string, min = 0, max = MAX_COUNT) =>
  (v: string) => {
    const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
    // Digits past 2^53 are still a number that is too large, not a malformed one.
    if (n > max) throw new InvalidArgumentError(`${name} ${wholeFrom(min)}, at most ${max}`);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} ${wholeFrom(min)}`);
    return n;
  };

/** The one wording of a whole-number option's range. */
export const wholeFrom = (min: number) => `must be a whole number (decimal digits), ${min} or more`;

/** Largest count a flag takes (tabs, lines, layouts): far past any real use, short of exhausting memory. */
const MAX_COUNT = 100_000;
/** Longest time a flag takes (s): timers hold at most 2^31-1 ms (about 24.8 days); 20 days is below. */
export const MAX_SECONDS = 20 * 24 * 3600;

/** A number of seconds, at least `min`: decimal only (`2`, `0.5`, `.5`), no hex, exponent, sign or spaces. */
export const num =
  (name: string, min = 0) =>
  (v: string) => {
    const n = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(v) ? Number(v) : Number.NaN;
    const range = `must be a decimal number of seconds, ${min} or more`;
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} ${range}`);
    if (n > MAX_SECONDS) throw new InvalidArgumentError(`${name} ${range}, at most ${MAX_SECONDS} (20 days)`);
    return n;
  };

/** A name given as a flag passes the same rules as a name in a layouts file (NFC, no controls or bidi). */
export const nameArg = (name: string) => (v: string) => {
  try {
    return checkName(v, name);
  } catch (e) {
    // Only the bracketed tags go ("[mc] [core] "): the reason stays.
    throw new InvalidArgumentError((e as Error).message.replace(/^\[mc\](?: \[[^\]]+\])* /, ""));
  }
};

/** `--socket`: a tmux -L name or -S path; an empty one would be tmux's socket directory itself. */
export const socketArg = (v: string): string => {
  if (v.trim() === "") throw new InvalidArgumentError("give a tmux socket name or path");
  return v;
};

const policy = (v: string): ConflictPolicy => {
  if (!(CONFLICT_POLICIES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`use ${CONFLICT_POLICIES.join(", ")}`);
  return v as ConflictPolicy;
};

/** `Example:` help text. */
export const example = (text: string) => `\nExample:\n  ${text}\n`;

/** Collect a repeated option. */
export const collect = (v: string, prev: string[]) => [...prev, v];

/** Options `run` and `create-from-command` share. */
export function addRunOptions(c: Command): Command {
  return c
    .option(
      "-b, --backend <name>",
      "tmux, zellij, wt or auto (tmux if installed, else zellij; wt on Windows; on --host machines: tmux)",
      "auto",
    )
    .addOption(
      new Option("--on-conflict <policy>", `when a session name is taken: ${CONFLICT_POLICIES.join(", ")}`)
        .default("error")
        .argParser(policy),
    )
    .option("-m, --monitor", "watch the tabs until every command has finished")
    .option(
      "-k, --kill-upon-completion",
      "kill the sessions when every command has finished (implies --monitor)",
    )
    .option("--interval <seconds>", "monitoring poll interval (at least 0.1)", num("--interval", 0.1), 2)
    .option(
      "--prefix <prefix>",
      'put <prefix>_ before every session name (zellij on this machine: LocalJobMgr unless given, as machineconfig; "" for none)',
      (v: string) => (v === "" ? "" : nameArg("--prefix")(v)),
    )
    .option(
      "--socket <name|path>",
      "tmux: a -L socket name, or a -S socket path (anything with a /)",
      socketArg,
    )
    .option(
      "-S, --sleep-inbetween <seconds>",
      "wait between starting two layouts, and between batches",
      num("--sleep-inbetween"),
      0,
    )
    .addOption(
      new Option(
        "--missing-dirs <policy>",
        "start directories that do not exist: error, create them, or skip their tabs",
      )
        .choices(["error", "create", "skip"])
        .default("error"),
    )
    .addOption(
      new Option(
        "--exit <mode>",
        "after a tab's command ends: leave a shell, close the tab, or keep the finished pane",
      )
        .choices(["shell", "close", "keep"])
        .default("shell"),
    )
    .option(
      "--interactive-shell",
      "run each command in an interactive shell ($SHELL -i, reading ~/.bashrc or ~/.zshrc): its aliases and functions work, as in machineconfig's tabs",
    )
    .option("--keep-failed", "with --kill-upon-completion: keep sessions with a failed tab open to look at")
    .option(
      "--notify <cmd>",
      "on a failed tab and at the end, run cmd (event JSON on stdin) or 'desktop' (notify-send); implies --monitor",
    )
    .option(
      "--dry-run",
      "print the plan and every generated script or layout (each line exactly as written, after │); start nothing",
    )
    .hook("preAction", socketNeedsTmux);
}

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "run", hint });

/**
 * Flags that would be ignored are refused (or take effect): every flag a user typed does something.
 * `given(name)` tells whether a flag was typed rather than defaulted.
 */
export function checkRunFlags(
  o: {
    maxParallelTabs?: number;
    killFinishedTabs?: boolean;
    layoutsFile?: string;
    allFile?: boolean;
    keepFailed?: boolean;
    killUponCompletion?: boolean;
    exit?: string;
    notify?: string;
  },
  file: string | undefined,
  given: (flag: string) => boolean,
): void {
  if (file !== undefined && o.layoutsFile !== undefined)
    throw usage("give the layouts file once: as the argument or with -f/--layouts-file, not both");
  if (o.maxParallelTabs !== undefined && (!Number.isInteger(o.maxParallelTabs) || o.maxParallelTabs < 1))
    throw usage(`--max-parallel-tabs ${wholeFrom(1)}`);
  if (o.maxParallelTabs !== undefined && given("parallelLayouts"))
    throw usage("--max-parallel-tabs and --parallel-layouts cannot be combined");
  if (o.maxParallelTabs === undefined) {
    if (o.killFinishedTabs) throw usage("--kill-finished-tabs works only with --max-parallel-tabs");
    if (given("pollSeconds"))
      throw usage("--poll-seconds works only with --max-parallel-tabs", "use --interval for monitoring");
  }
  // A tmux session whose open tabs all closed ends, and the tabs still waiting for a slot never start.
  if (o.maxParallelTabs !== undefined && o.exit === "close")
    throw usage(
      "--exit close cannot be combined with --max-parallel-tabs: once the open tabs have closed, the session ends and the waiting tabs never start",
      "use --kill-finished-tabs: it closes each finished tab and keeps one open while tabs wait",
    );
  if (o.notify !== undefined && o.notify.trim() === "")
    throw usage("--notify is empty: give a command, or 'desktop'");
  if (o.keepFailed && !o.killUponCompletion)
    throw usage("--keep-failed works with --kill-upon-completion (-k): it says which sessions -k keeps");
  if (o.allFile && o.maxParallelTabs === undefined)
    throw usage("--all-file works with --max-parallel-tabs (or use: sessions run-all FILE -t N)");
}

/**
 * `--socket` names a tmux server: beside another tool's `--backend` it was dropped without a word (review
 * H61-12). Every command that takes both refuses the pair before it does anything (exit 2): a
 * `preAction` hook of each.
 */
export function socketNeedsTmux(c: Command): void {
  const o = c.opts() as { socket?: unknown; backend?: unknown };
  if (o.socket === undefined || typeof o.backend !== "string") return;
  const b = backendOf(o.backend);
  if (b === undefined || b === "auto" || b === "tmux") return;
  throw new McError("USAGE", `--socket names a tmux server; --backend ${o.backend} has none`, {
    backend: "cli",
    hint: "drop --socket, or use --backend tmux",
  });
}

/** `--backend` of the commands that look at what mc manages. */
export const BACKEND_FILTER = "only sessions of this tool: tmux, zellij or wt (one name under two tools)";
