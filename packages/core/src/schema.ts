import { z } from "zod";
import { McError } from "./errors.js";

/** Why `pattern` is not a JavaScript regular expression (as a readiness probe compiles it), or nothing. */
function regexError(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "m");
    return undefined;
  } catch (e) {
    // "Invalid regular expression: /(/m: Unterminated group": the pattern is in the file already.
    const m = (e as Error).message;
    const at = m.lastIndexOf("/m: ");
    return at >= 0 ? m.slice(at + 4) : m;
  }
}

import { unexpandedPath, unexpandedStartDir } from "./paths.js";

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Bidirectional overrides, embeddings, isolates and marks: they make a name read differently from what it is.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// Half of a UTF-16 surrogate pair on its own: not a character, and no file or argv can carry it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Longest layout or tab name: tmux refuses commands over 16 KiB, and no terminal shows more. */
export const MAX_NAME_LENGTH = 256;
/** Longest startDir (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096;

// What can be said as a JSON Schema keyword is said as one (pattern, maxLength), so that an editor that
// reads the published schema marks what `validate` refuses (review HR81-6: blank, multi-line and over-long
// names passed the schema). A lone surrogate has no JSON Schema pattern: it stays a check of mc's own.
const NOT_BLANK = /\S/;
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;
const NO_BIDI = /^[^\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$/;
const NO_NUL = /^[^\u0000]*$/;

const name = (what: string) =>
  z
    .string()
    .regex(NOT_BLANK, { message: `${what} must not be blank` })
    .regex(NO_CONTROL, { message: `${what} must not contain control characters (newline, tab, …)` })
    .refine((s) => !LONE_SURROGATE.test(s), { message: `${what} is not valid Unicode (a lone surrogate)` })
    .regex(NO_BIDI, { message: `${what} must not contain bidirectional control characters` })
    // maxLength for the JSON Schema (code points); the check itself counts UTF-16 units, as fitName and
    // create-template do (review HR83-1: 200 emoji passed `.max`). One message: validate says it once.
    .max(MAX_NAME_LENGTH, { message: `${what} is longer than ${MAX_NAME_LENGTH} characters` })
    .refine((s) => s.length <= MAX_NAME_LENGTH, {
      message: `${what} is longer than ${MAX_NAME_LENGTH} characters`,
    })
    // One name, one spelling: é typed as e + combining accent is the same session as é.
    .transform((s) => s.normalize("NFC"));

/**
 * A name made from text that is not one (a directory's name): what a name may not hold (control and
 * bidirectional characters, a lone surrogate) becomes `_`, and it is cut to `max` characters.
 */
export function fitName(text: string, max = MAX_NAME_LENGTH): string {
  const g = (r: RegExp) => new RegExp(r.source, "g");
  const cut = text
    .replace(g(CONTROL), "_")
    .replace(g(BIDI), "_")
    .replace(g(LONE_SURROGATE), "_")
    .slice(0, max);
  // Not half of a character past U+FFFF (review H45-3: a cut emoji made the name invalid).
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * Check a name given outside a layouts file (`--prefix`, `--name`) by the same rules as names in one;
 * returns it NFC-normalised. Throws USAGE with the reason.
 */
export function checkName(value: string, what: string): string {
  const r = name(what).safeParse(value);
  if (r.success) return r.data;
  throw new McError("USAGE", `${what}: ${r.error.issues[0]?.message ?? "not a valid name"}`, {
    backend: "core",
  });
}

const text = (what: string) =>
  z
    .string()
    .regex(NOT_BLANK, { message: `${what} must not be blank` })
    .regex(NO_NUL, { message: `${what} must not contain a NUL character` })
    .refine((s) => !LONE_SURROGATE.test(s), { message: `${what} is not valid Unicode (a lone surrogate)` });

const startDir = text("startDir")
  .max(MAX_PATH_LENGTH, { message: `startDir is longer than ${MAX_PATH_LENGTH} characters` })
  .refine((s) => s.length <= MAX_PATH_LENGTH, {
    message: `startDir is longer than ${MAX_PATH_LENGTH} characters`,
  })
  // Said by validate, not first by the start (review H61-9: `$PWD` validated, then was a missing directory).
  .refine((s) => unexpandedStartDir(s) === undefined, {
    error: (iss) => unexpandedStartDir(String(iss.input)) ?? "startDir is not expanded",
  })
  .describe(
    "Directory the tab starts in; a leading ~, ~/, $HOME or ${HOME} is the home directory (no other variable or ~user is expanded), and a relative one is relative to the directory sessions runs in (the home directory on a remote host).",
  );

/** Environment variables: POSIX names, string values (no NUL). */
const env = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        message: "environment variable names are letters, digits and _ (not starting with a digit)",
      })
      // mc_* are the tab wrapper's own variables and MC_TAB marks a tab's processes (kill finds them by it).
      .refine((k) => !/^mc_/.test(k) && k !== "MC_TAB", {
        message: "environment variable names mc_* and MC_TAB are mc's own",
      }),
    z.string().refine((s) => !s.includes("\u0000"), {
      message: "environment values must not contain a NUL character",
    }),
  )
  .describe("Environment variables for the command(s), and the shell kept in the tab after them.");

const readiness = z
  .strictObject({
    file: text("readiness.file")
      // Read as startDir is (review H67-8: `~/flag` was looked for as `<startDir>/~/flag`, validate said ok).
      .refine((s) => unexpandedPath(s, "readiness.file", "path") === undefined, {
        error: (iss) =>
          unexpandedPath(String(iss.input), "readiness.file", "path") ?? "readiness.file is not expanded",
      })
      .optional()
      .describe(
        "Ready once this file exists on the machine the tab runs on; a leading ~, ~/, $HOME or ${HOME} is the home directory there (no other variable or ~user is expanded), and a relative one is relative to the tab's startDir.",
      ),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe(
        "Ready once a TCP connection to this port on the loopback (127.0.0.1 or ::1) of the machine the tab runs on succeeds.",
      ),
    logMatches: text("readiness.logMatches")
      // A pattern JavaScript cannot compile never matched: the tab waited out its timeout and its dependants
      // were skipped for a "failed" dependency, with no word of the pattern (review HR81-1).
      .refine((s) => regexError(s) === undefined, {
        error: (iss) =>
          `readiness.logMatches is not a valid regular expression: ${regexError(String(iss.input))}`,
      })
      .optional()
      .describe("Ready once the tab's output matches this regular expression."),
    command: text("readiness.command")
      .optional()
      // Without the env (review H67-6): the probe is run by mc, as the wrapper's own steps are, and a PATH
      // or SHELL of the layout must not change what runs it (timeout, the shell found on PATH).
      .describe(
        "Ready once this command exits 0: mc runs it on the tab's machine, in the tab's startDir, with the tab's shell (default /bin/sh) -c, at most 10 s a try, WITHOUT the tab's or the layout's env (write the values in the command).",
      ),
    timeoutSeconds: z
      .number()
      .positive()
      .max(86_400, { error: "readiness.timeoutSeconds is at most 86400 (a day)" })
      .optional()
      .describe("Fail the tab (and its dependants) when not ready by then (default 60)."),
  })
  .refine((r) => [r.file, r.port, r.logMatches, r.command].filter((x) => x !== undefined).length === 1, {
    message: "readiness takes exactly one of file, port, logMatches, command",
  })
  .describe("When the tab counts as ready for the tabs that depend on it (without it: once started).");

const retry = z
  .strictObject({
    max: z
      .number()
      .int()
      .min(0, { error: "retry.max must be a non-negative integer" })
      .max(100, { error: "retry.max is at most 100" })
      .describe(
        "Run a failing command up to this many more times (at most 100). A command stopped by Ctrl-C, Ctrl-\\, a hang-up, TERM or KILL (exit 129, 130, 131, 137, 143) is not retried.",
      ),
    backoffSeconds: z
      .number()
      .min(0)
      .max(3600, { error: "retry.backoffSeconds is at most 3600" })
      .optional()
      .describe(
        "Wait this long before each new attempt (default 0); a Ctrl-C or kill while it waits ends the tab.",
      ),
  })
  .describe("Rerun a failing command.");

/** tmux's named layouts: how a tab's panes are arranged (`select-layout`). */
export const PANE_LAYOUTS = [
  "even-horizontal",
  "even-vertical",
  "main-horizontal",
  "main-vertical",
  "tiled",
] as const;

/** Most panes one tab may have (its own and its `panes`). */
export const MAX_PANES = 16;

/** A further pane of a tab. */
export const PaneConfigSchema = z
  .strictObject({
    command: text("command")
      .optional()
      .describe("Command run in this pane through the user's shell (default: an interactive shell)."),
    startDir: startDir.optional().describe("Directory the pane starts in (default: the tab's startDir)."),
    env: env.optional().describe("Environment variables of this pane (over the tab's and the layout's)."),
    split: z
      .enum(["right", "down"])
      .optional()
      .describe("Open it to the right of the pane before it, or below it (default right)."),
    size: z
      .union([
        z.string().regex(/^([1-9]|[1-9][0-9])%$/, {
          message: 'size is a whole percentage from "1%" to "99%", or a number of cells from 1 to 10000',
        }),
        z.number().int().min(1, { error: "size in cells is at least 1" }).max(10000, {
          error: "size in cells is at most 10000",
        }),
      ])
      .optional()
      .describe('Its width (split right) or height (split down): a percentage such as "30%", or cells.'),
    focus: z
      .literal(true)
      .optional()
      .describe("The pane that has the focus when the tab opens (without one, the tab's first pane has it)."),
  })
  .describe("A further pane of a tab, split from the pane before it.");

/** One tab: a name, the directory it starts in and the command it runs through the user's shell. */
export const TabConfigSchema = z
  .strictObject({
    tabName: name("tabName").describe("Name of the tab (window) shown by the multiplexer."),
    startDir,
    command: text("command").describe(
      "Command run through the user's shell (pipes, &&, ; and redirections work).",
    ),
    tabWeight: z
      .number({ error: "tabWeight must be a non-negative integer" })
      // A whole number past 2^53 is one JSON cannot carry exactly (review H31-11: it read "not an integer").
      .int({
        error: (iss) =>
          typeof iss.input === "number" && Number.isInteger(iss.input)
            ? `tabWeight is at most ${Number.MAX_SAFE_INTEGER}`
            : "tabWeight must be a non-negative integer",
      })
      .min(0, { error: "tabWeight must be a non-negative integer" })
      .optional()
      .describe("Relative cost of the tab for balance-load; defaults to 1."),
    env: env.optional(),
    shell: text("shell")
      .refine((s) => !CONTROL.test(s), {
        message: "shell must not contain control characters (newline, tab, …)",
        abort: true,
      })
      // A program, not a command line (`bash -l`, `/bin/sh -c '…'`): caught here, so `validate` says it too
      // (review H56-4). A path may hold spaces and quotes (`C:\Program Files\…`, `/home/o'neil/…`), so only an
      // option or a quoted word after a space, `env PROGRAM` and a space at either end are taken for a
      // command line (review H58-5); the start check finds the rest.
      .refine((s) => !/\s[-'"]/.test(s) && s.trim() === s && !/^((\/usr)?\/bin\/)?env\s/.test(s), {
        message:
          "shell is one program (a path, or a name on PATH), not a command line: options go in command",
      })
      .optional()
      .describe("The program that interprets command (default: the user's login shell, $SHELL)."),
    interactive: z
      .boolean()
      .optional()
      .describe(
        "Run command in an interactive shell ($SHELL -i), which reads your rc file (~/.bashrc, ~/.zshrc): its aliases and functions work, as in a machineconfig tab, where commands are typed into the tab's shell. Slower to start; tmux and zellij only.",
      ),
    dependsOn: z
      .array(name("dependsOn"))
      .optional()
      .describe("Tabs of the same layout that must be ready before this one starts."),
    readiness: readiness.optional(),
    retry: retry.optional(),
    panes: z
      .array(PaneConfigSchema)
      .max(MAX_PANES - 1, {
        error: `a tab has at most ${MAX_PANES} panes (its own and ${MAX_PANES - 1} more)`,
      })
      .optional()
      .describe(
        "Further panes of this tab, each split from the one before; the tab's own command runs in its first pane.",
      ),
    layout: z
      .enum(PANE_LAYOUTS)
      .optional()
      .describe("How the tab's panes are arranged (tmux's named layouts), after they are split."),
  })
  .describe("A tab of a layout.");

/** One layout: becomes one session. */
export const LayoutConfigSchema = z
  .strictObject({
    layoutName: name("layoutName").describe("Name of the layout; the session name is derived from it."),
    layoutTabs: z
      .array(TabConfigSchema)
      .min(1, { error: "layoutTabs must have at least one tab" })
      .describe("Tabs of the layout, in order."),
    env: env.optional().describe("Environment variables for every tab of the session."),
    onStart: text("onStart")
      .optional()
      .describe("Command run once before the session's tabs start (in the first tab's startDir)."),
    onStop: text("onStop")
      .optional()
      .describe(
        "Command run once however the session ends (killed by mc or the user, or its last tab exited).",
      ),
  })
  .describe("A layout: one session with its tabs.");

/** The layouts file, exactly machineconfig's format. */
export const LayoutsFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe("URL or path of this JSON Schema."),
    // Optional, as machineconfig reads it (it never checks it): a file without it loads with a warning.
    version: z.string().optional().describe('Format version; machineconfig writes "0.1".'),
    layouts: z
      .array(LayoutConfigSchema)
      .min(1, { error: "layouts must have at least one layout" })
      .describe("The layouts (sessions) in this file."),
  })
  .describe("Terminal Layouts: sessions with tabs, as read by mc and machineconfig.");

/** A further pane of a tab. */
export type PaneConfig = z.infer<typeof PaneConfigSchema>;
/** A tab of a layout (machineconfig's `TabConfig`). */
export type TabConfig = z.infer<typeof TabConfigSchema>;
/** A layout (machineconfig's `LayoutConfig`). */
export type LayoutConfig = z.infer<typeof LayoutConfigSchema>;
/** A whole layouts file (machineconfig's `LayoutsFile`). */
export type LayoutsFile = z.infer<typeof LayoutsFileSchema>;

/** Format versions mc knows; any other string loads with a warning. */
export const KNOWN_VERSIONS = ["0.1", "1.0"] as const;

/** The `$schema` value machineconfig writes into new files. */
export const MACHINECONFIG_SCHEMA_URL = "https://bit.ly/cfglayout";

const MACHINECONFIG_LAYOUT_KEYS = new Set(["layoutName", "layoutTabs"]);
const MACHINECONFIG_TAB_KEYS = new Set(["tabName", "startDir", "command", "tabWeight"]);

/**
 * The `$schema` line of a file mc writes: machineconfig's, only when the layouts use machineconfig's keys
 * alone. Its schema allows no other key (`additionalProperties: false`), so an editor that follows it
 * marked mc's own `env`, `panes`, `dependsOn`, … as errors in files mc itself wrote (review H61-7).
 */
export function schemaLine(layouts: readonly LayoutConfig[]): { $schema?: string } {
  const plain = layouts.every(
    (l) =>
      Object.keys(l).every((k) => MACHINECONFIG_LAYOUT_KEYS.has(k)) &&
      l.layoutTabs.every((t) => Object.keys(t).every((k) => MACHINECONFIG_TAB_KEYS.has(k))),
  );
  return plain ? { $schema: MACHINECONFIG_SCHEMA_URL } : {};
}

/** The weight of a tab: `tabWeight`, or 1 when absent. */
export function tabWeight(tab: TabConfig): number {
  return tab.tabWeight ?? 1;
}

/** The JSON Schema (draft 2020-12) of a layouts file, generated from the zod schema. */
export function layoutsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(LayoutsFileSchema, { target: "draft-2020-12", io: "input" }) as Record<
    string,
    unknown
  >;
  return {
    $schema: schema.$schema,
    title: "mc / machineconfig terminal layouts",
    ...schema,
  };
}
