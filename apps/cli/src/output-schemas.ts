import { ERROR_CODES } from "@mc/core";
import { z } from "zod";
import { convertDocument, exportDocument } from "./convert/json.js";

/**
 * The shape of every `--json` output, one schema per command (zod; `sessions schema --output NAME` and
 * the files in apps/cli/schema are generated from these). Documents are one JSON value; streams (NDJSON)
 * are one value per line, each matching the stream's schema, and end with a final event.
 */

const state = z.enum([
  "not-started",
  "abandoned",
  "skipped",
  "pending",
  "running",
  "exited",
  "killed",
  "missing",
  "unknown",
]);

const processNode = z.object({
  pid: z.number().int(),
  ppid: z.number().int(),
  command: z.string(),
  cpuPercent: z.number(),
  rssBytes: z.number(),
  startedAt: z.number().optional(),
  startTicks: z
    .number()
    .int()
    .optional()
    .describe("Linux: its start in clock ticks since boot; with the pid, which process this is."),
});

const tabStatus = z.object({
  index: z.number().int(),
  pane: z
    .number()
    .int()
    .optional()
    .describe("Which pane of the tab, when it has several (0: its own command)."),
  slot: z.number().int().optional().describe("Its number in the run's records and logs, when not index."),
  tabName: z.string(),
  command: z.string(),
  state,
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
  pid: z.number().int().optional(),
  ref: z.string().optional(),
  processes: z.array(processNode),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  runtimeMs: z.number().optional(),
  error: z.string().optional(),
  notReady: z
    .literal(true)
    .optional()
    .describe(
      "Its scheduler gave up waiting for it to be ready (error says why): a failed tab, whatever its exit code.",
    ),
  attempt: z.number().int().optional().describe("Which run of the command (retries, sessions rerun)."),
  orphans: z
    .array(z.number().int())
    .optional()
    .describe(
      "Its tab is gone, with no end recorded, but its command runs on outside it: those processes (state running; error says so; sessions kill ends them).",
    ),
  logTail: z
    .array(z.string())
    .optional()
    .describe("status --tail N: the last lines a failed tab printed (as written)."),
  logNotKept: z
    .string()
    .optional()
    .describe(
      "status --tail N: why this failed tab has no log (its session kept none: zellij without script(1)).",
    ),
});

const sessionStatus = z.object({
  session: z.string(),
  machine: z.string(),
  backend: z.string(),
  host: z.string(),
  exists: z
    .boolean()
    .describe(
      "Whether the session was found. Where the machine or its tool did not answer (`error` is set), true only when a process of one of its tabs was seen on this machine: false then means not seen, not gone.",
    ),
  tabs: z.array(tabStatus),
  summary: z.object({
    totalCommands: z.number(),
    runningCommands: z.number(),
    stoppedCommands: z.number(),
    failedCommands: z.number(),
    sessionHealthy: z.boolean(),
  }),
  error: z
    .string()
    .optional()
    .describe(
      "Why this status is incomplete: the machine or its tool did not answer (then `status` exits 8). Tabs it could not look at read `unknown`.",
    ),
  runDirMissing: z
    .literal(true)
    .optional()
    .describe(
      "Its run directory was deleted: the records, events and logs of its tabs went with it; tabs none says read `unknown` (then `status` exits 9).",
    ),
  socket: z
    .string()
    .optional()
    .describe(
      "tmux: the socket path of the server the session runs on (tell apart two of one name), as `ls --json` gives it. Set by `status`; the reports of `run` and `wait` leave it out.",
    ),
});

/** A status report (`sessions status --json`; `wait --json` and `run-done` carry one). */
export const statusReport = z
  .object({
    at: z.number(),
    sessions: z.array(sessionStatus),
    summary: z.object({
      totalSessions: z.number(),
      healthySessions: z.number(),
      unhealthySessions: z.number(),
      totalCommands: z.number(),
      runningCommands: z.number(),
      stoppedCommands: z.number(),
      failedCommands: z.number(),
      allSessionsHealthy: z.boolean(),
      allCommandsRunning: z.boolean(),
      allFinished: z.boolean(),
    }),
    machines: z.array(
      z.object({
        machine: z.string(),
        host: z.string(),
        reachable: z.boolean(),
        error: z.string().optional(),
        code: z
          .enum([...ERROR_CODES])
          .optional()
          .describe("Why it was not reached (BINARY_NOT_FOUND: its tool is not installed)."),
      }),
    ),
  })
  .describe("sessions status --json");

/** `sessions status --json`, and each line of `status --watch --json`: a report, and at Ctrl-C one last line. */
export const statusDocument = z
  .union([
    statusReport
      .extend({
        unreadable: z
          .array(z.object({ path: z.string(), error: z.string() }))
          .optional()
          .describe(
            "status without a session name: run records that could not be read or were not trusted (a link, another user's file), whose sessions are missing from this report; exit 9",
          ),
      })
      .describe("sessions status --json"),
    z
      .object({ type: z.literal("watch-stopped"), time: z.string() })
      .describe("status --watch --json: the last line, once Ctrl-C ended the watch (exit 0)"),
  ])
  .describe("sessions status --json");

/** Every `--json` error, on stderr. */
export const errorDocument = z
  .object({
    error: z.object({
      code: z.enum([...ERROR_CODES]),
      message: z.string(),
      backend: z.string().optional(),
      op: z.string().optional(),
      hint: z.string().optional(),
      details: z.unknown().optional(),
    }),
  })
  .describe("any command's error with --json (stderr)");

/** What a merge did (or, in a dry run, would do), counted. */
const mergeCounts = z.object({
  added: z.number().int(),
  restarted: z.number().int(),
  /** Tabs that had started, left as they are. */
  kept: z.number().int(),
  /** Tabs this run's scheduler opens (waiting ones, and added ones under --max-parallel-tabs). */
  waiting: z.number().int(),
  /** Of waiting: tabs that never ran and open with the command the file gives now. */
  renewed: z.number().int(),
  /** Waiting tabs the file no longer has: not started. */
  dropped: z.number().int(),
  /** Of kept: tabs that ran whose command the file changed, kept with the old one (merge-skip). */
  stale: z.number().int(),
});

const started = z.object({
  machine: z.string(),
  name: z.string(),
  requestedName: z.string(),
  action: z.enum(["create", "replace", "merge"]),
  renamed: z.boolean(),
  tabs: z.number().int(),
  artefacts: z.array(z.string()),
  tabActions: z.array(z.enum(["create", "keep", "restart"])).optional(),
  /** Tabs this run's scheduler opens later (dependsOn, --max-parallel-tabs). */
  waiting: z.number().int().optional(),
  merge: mergeCounts.optional(),
});

/** `sessions run --json` without `--monitor` (or `--max-parallel-tabs`, which streams events as it does). */
export const runDocument = z
  .object({
    backend: z.string(),
    batches: z.array(
      z.object({
        batch: z.number().int(),
        runId: z.string(),
        machines: z.array(
          z.union([
            z.object({ machine: z.string(), ok: z.literal(true), sessions: z.array(started) }),
            z.object({ machine: z.string(), ok: z.literal(false), error: errorDocument.shape.error }),
          ]),
        ),
        sessions: z.array(started),
        report: statusReport.optional(),
      }),
    ),
  })
  .describe("sessions run --json (without --monitor or --max-parallel-tabs: those stream events)");

/** One line of `sessions run --monitor --json` (also with `--max-parallel-tabs`) and `sessions events`. */
export const event = z
  .object({
    type: z.enum([
      "session-started",
      "tab-started",
      "tab-ready",
      "tab-exited",
      "tab-killed",
      "tab-retried",
      "session-gone",
      "run-done",
    ]),
    time: z.string(),
    machine: z.string().optional(),
    session: z.string().optional(),
    tab: z.string().optional(),
    index: z.number().int().optional(),
    pane: z.number().int().optional(),
    tabs: z.number().int().optional(),
    exitCode: z.number().int().optional(),
    signal: z.string().optional(),
    attempt: z.number().int().optional(),
    reason: z.string().optional(),
    failed: z.number().int().optional(),
    interrupted: z.boolean().optional(),
    kept: z
      .array(z.object({ machine: z.string(), session: z.string(), reason: z.string().optional() }))
      .optional()
      .describe(
        "run-done of run -m -k: sessions not killed on purpose, and why (a tab still runs, --keep-failed)",
      ),
    notKilled: z
      .array(z.object({ machine: z.string(), session: z.string(), error: z.string() }))
      .optional()
      .describe("run-done of run -m -k: sessions whose kill failed (the run exits non-zero)"),
    notStarted: z
      .array(z.string())
      .optional()
      .describe("run-done of run -p N interrupted: the layouts of later batches, never started"),
  })
  .passthrough()
  .describe(
    "one line (NDJSON) of sessions run --monitor --json (or --max-parallel-tabs --json) and sessions events; the last is run-done (events --follow without session names has none: it follows new sessions until Ctrl-C)",
  );

/** `sessions run --dry-run --json`. */
export const dryRunDocument = z
  .object({
    dryRun: z.literal(true),
    backend: z.string(),
    batches: z.array(
      z.array(
        z.object({
          name: z.string(),
          requested: z.string(),
          action: z.enum(["create", "replace", "merge"]),
          renamed: z.boolean(),
          tabs: z.number().int(),
          artefacts: z.array(z.object({ path: z.string(), description: z.string(), content: z.string() })),
          start: z.array(z.object({ file: z.string(), args: z.array(z.string()) })),
          tabActions: z.array(z.enum(["create", "keep", "restart"])).optional(),
          merge: mergeCounts.optional(),
          /** A merge: the tabs (indexes into the merged layout) this run's scheduler opens. */
          waitingTabs: z.array(z.number().int()).optional(),
          /** A merge: the session's waiting tabs the file no longer has; none is started. */
          droppedTabs: z.array(z.string()).optional(),
          waits: z
            .array(
              z.object({
                tab: z.string(),
                dependsOn: z.array(z.string()).optional(),
                readiness: z
                  .object({
                    file: z.string().optional(),
                    port: z.number().int().optional(),
                    logMatches: z.string().optional(),
                    command: z.string().optional(),
                    timeoutSeconds: z.number().optional(),
                  })
                  .optional(),
                shell: z.string().optional(),
              }),
            )
            .optional()
            .describe(
              "tabs that open once others are ready (dependsOn) or are watched until ready; a readiness command is run by sessions run itself",
            ),
        }),
      ),
    ),
  })
  .describe("sessions run --dry-run --json");

/** `sessions ls --json`. */
export const lsDocument = z
  .object({
    runs: z.array(
      z.object({
        run: z.string(),
        kind: z.string(),
        backend: z.string(),
        host: z.string(),
        created: z.string(),
        session: z.string(),
        live: z.boolean(),
        tabs: z.number().int(),
        socket: z
          .string()
          .optional()
          .describe("tmux: the socket path of the server the session runs on (tell apart two of one name)."),
        unreachable: z.string().optional(),
        unfinished: z
          .boolean()
          .optional()
          .describe(
            "Its start was never seen through (the run that started it died mid-start): the next sessions run there keeps it when whole (starting.kept), else rolls it back.",
          ),
        startingBy: z
          .number()
          .int()
          .optional()
          .describe(
            "The pid of the sessions run still starting it (a restart's replacement among them): not started yet, whatever live says.",
          ),
        killInterrupted: z
          .boolean()
          .optional()
          .describe(
            "Gone after a sessions kill that did not finish (killed outright): mc's kill; the next kill records it as killed.",
          ),
        ended: z
          .object({ at: z.string(), by: z.enum(["killed", "replaced", "gone", "rolled-back"]) })
          .optional()
          .describe("An ended session, kept with its logs until pruned."),
      }),
    ),
    corrupt: z
      .array(
        z.object({
          path: z.string(),
          error: z.string(),
          removed: z.literal(true).optional().describe("ls --prune removed it"),
        }),
      )
      .describe(
        "run records that could not be read or were not trusted (a link, another user's file); exit 9 while one not removed is left",
      ),
    notPruned: z
      .array(z.string())
      .optional()
      .describe("ls --prune: runs left as they were (a machine did not answer); exit 8"),
  })
  .describe("sessions ls --json");

/** `sessions kill --json`. */
export const killDocument = z
  .object({
    killed: z.array(
      z.object({
        session: z.string(),
        host: z.string().optional(),
        ok: z.boolean(),
        outcome: z.enum(["killed", "gone"]).optional(),
        ended: z.array(z.number().int()).optional(),
        survivors: z.array(z.object({ pid: z.number().int(), command: z.string() })).optional(),
        spared: z.array(z.object({ pid: z.number().int(), command: z.string() })).optional(),
        liveAs: z
          .object({ session: z.string(), how: z.enum(["resurrected", "renamed", "replaced", "unknown"]) })
          .optional()
          .describe(
            "outcome gone: a live session outside mc's start holds it now (resurrected, renamed to `session`, or a new one of its name; unknown: the tool did not list its panes); left alone",
          ),
        error: z.string().optional(),
      }),
    ),
    unreadable: z
      .array(z.object({ path: z.string(), error: z.string() }))
      .optional()
      .describe(
        "kill --all: run records that could not be read or were not trusted (what they record was not killed); exit 9",
      ),
    interrupted: z.literal(true).optional().describe("Ctrl-C stopped the kill; exit 130"),
    notKilled: z
      .array(z.string())
      .optional()
      .describe(
        "interrupted: sessions not killed (still in mc's records), the one being killed at a second Ctrl-C too",
      ),
  })
  .describe("sessions kill --json");

/** `sessions attach --json` (the command it would run). */
export const attachDocument = z
  .object({
    session: z.string(),
    backend: z.string(),
    machine: z.string().optional(),
    command: z.object({ file: z.string(), args: z.array(z.string()), env: z.record(z.string(), z.string()) }),
  })
  .describe("sessions attach --json");

const issue = z.object({
  path: z.string(),
  pointer: z.array(z.union([z.string(), z.number()])),
  line: z.number().int(),
  column: z.number().int(),
  message: z.string(),
});

/** `sessions validate --json`. */
export const validateDocument = z
  .union([
    z.object({
      ok: z.literal(true),
      warnings: z.array(issue),
      layouts: z.number().int(),
      runLimits: z
        .array(z.string())
        .optional()
        .describe("What sessions run refuses with its default -T and -P limits (the file itself is valid)."),
    }),
    z.object({ ok: z.literal(false), issues: z.array(issue) }),
  ])
  .describe("sessions validate --json");

/** One line (NDJSON) of `sessions logs --json`. */
export const logLineDocument = z
  .object({
    session: z.string(),
    tab: z.string(),
    index: z.number().int(),
    pane: z
      .number()
      .int()
      .optional()
      .describe("Which pane of the tab printed it, when the tab has several (0: its own command)."),
    line: z.string(),
  })
  .describe("one line (NDJSON) of sessions logs --json: a line a tab printed, as written");

/** `sessions wait --json`. */
export const waitDocument = z
  .object({
    ok: z.boolean(),
    failed: z.number().int(),
    report: statusReport.optional().describe("absent when there was nothing to wait for"),
    unreadable: z
      .array(z.object({ path: z.string(), error: z.string() }))
      .optional()
      .describe(
        "run records that could not be read or were not trusted: what they hold was not waited for (exit 9)",
      ),
  })
  .describe(
    "sessions wait --json (exit 0 all succeeded, 10 any failed, 9 a run record could not be read; a timeout is an error document)",
  );

/** `sessions rerun --json`. */
export const rerunDocument = z
  .object({
    session: z.string(),
    rerun: z.array(z.object({ tab: z.string(), index: z.number().int(), attempt: z.number().int() })),
    notRerun: z
      .array(z.string())
      .optional()
      .describe(
        "Failed tabs --failed left out, and why (several panes; a dependency neither succeeded nor running and ready).",
      ),
    interrupted: z
      .literal(true)
      .optional()
      .describe("--max-parallel-tabs: Ctrl-C (or a TERM, a hang-up) came before every tab was started."),
    notStarted: z.array(z.string()).optional().describe("With interrupted: the tabs not rerun."),
  })
  .describe("sessions rerun --json");

/** `sessions summarize FILE --json`. */
export const summarizeDocument = z
  .object({
    file: z.string().describe("The layouts file, as given (- for standard input)."),
    version: z.string().optional().describe("The file's version, when it has one."),
    layouts: z.number().int(),
    tabs: z.number().int(),
    averageTabsPerLayout: z.number().describe("Rounded to two decimals."),
    largest: z.object({ layoutName: z.string(), tabs: z.number().int() }),
    smallest: z.object({ layoutName: z.string(), tabs: z.number().int() }),
    perLayout: z.array(
      z.object({
        layoutName: z.string(),
        tabs: z.number().int(),
        weight: z.number().describe("The sum of its tabs' tabWeight (1 each when not given)."),
      }),
    ),
  })
  .describe("sessions summarize --json");

/** `sessions balance-load FILE --json`. */
export const balanceLoadDocument = z
  .object({
    output: z.string().describe("The layouts file written: -o, or one named after the input next to it."),
    report: z.array(
      z.object({
        layoutName: z.string(),
        action: z.enum(["kept", "split", "combined"]),
        into: z.array(z.string()).describe("The layouts it became (split), or its own name."),
        tabsBefore: z.number().int(),
        tabsAfter: z.number().int(),
        weightBefore: z.number(),
      }),
    ),
    warnings: z.array(z.string()),
  })
  .describe("sessions balance-load --json");

const written = z.object({ written: z.string().describe("The file written, as an absolute path.") });
/** `sessions create-template --json`. */
export const createTemplateDocument = written.describe("sessions create-template --json");
/** `sessions create-from-command -o FILE --json` (without -o it runs the tabs: the run schema). */
export const createFromCommandDocument = written.describe(
  "sessions create-from-command -o FILE --json (without -o: the run schema)",
);

/** Every schema, by the file name it is written to. */
export const OUTPUT_SCHEMAS = {
  status: statusDocument,
  error: errorDocument,
  run: runDocument,
  event,
  "dry-run": dryRunDocument,
  ls: lsDocument,
  kill: killDocument,
  attach: attachDocument,
  validate: validateDocument,
  "log-line": logLineDocument,
  wait: waitDocument,
  rerun: rerunDocument,
  convert: convertDocument,
  export: exportDocument,
  summarize: summarizeDocument,
  "balance-load": balanceLoadDocument,
  "create-template": createTemplateDocument,
  "create-from-command": createFromCommandDocument,
} as const;

/** The JSON Schema (draft 2020-12) of one output. */
export function outputJsonSchema(name: keyof typeof OUTPUT_SCHEMAS): Record<string, unknown> {
  return z.toJSONSchema(OUTPUT_SCHEMAS[name], { target: "draft-2020-12", io: "output" }) as Record<
    string,
    unknown
  >;
}
