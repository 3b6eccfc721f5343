import type { Command } from "commander";
import { eventsCommand, rerunCommand, waitCommand } from "../commands/jobs.js";
import { logsCommand } from "../commands/logs.js";
import type { Ctx } from "./commands.js";
import { BACKEND_FILTER, example, int, num, socketArg, socketNeedsTmux } from "./options.js";

/** `logs`, `events`, `wait`, `rerun`: tabs as jobs. */
export function registerJobs(program: Command, ctx: Ctx): void {
  program
    .command("logs")
    .description("what a tab printed (SESSION/TAB), or every tab of a session (SESSION), kept after they end")
    .argument("<target>", "SESSION/TAB (a tab by name, or by position from 0) or SESSION")
    .option("-f, --follow", "keep printing new output until the tabs' commands finish (Ctrl-C stops)")
    .option("-n, --lines <n>", "only the last n lines (with --follow: 10 unless given)", int("--lines"))
    .option("--raw", "the bytes as written, escape sequences included (for a file or a pager)")
    .option("--host <machine>", "the machine the session runs on, when several have one of that name")
    .option(
      "--socket <name|path>",
      "tmux: the session's tmux server, when several have one of that name",
      socketArg,
    )
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions logs api/server -f -n 50"))
    .action((target: string, o) => ctx.set(logsCommand(target, o, ctx.out)));
  program
    .command("events")
    .description(
      "NDJSON events of sessions (type, time, session, tab): what happened; --follow for what happens",
    )
    .argument("[sessions...]", "only these sessions (live or ended; default every live one)")
    .option(
      "-f, --follow",
      "keep printing events: of the sessions named until every tab finished (run-done); without names, also of sessions started later, until Ctrl-C",
    )
    .option("--host <machine>", "only sessions on this machine")
    .option("--socket <name|path>", "tmux: only sessions on this tmux server", socketArg)
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions events --follow | jq -c 'select(.type==\"tab-exited\")'"))
    .action((names: string[], o) => ctx.set(eventsCommand(names, o, ctx.out)));
  program
    .command("wait")
    .description(
      "wait until every tab of the sessions finished: exit 0 all succeeded, 10 any failed, 7 timeout",
    )
    .argument("[sessions...]", "only these sessions (default every live one)")
    .option("--timeout <seconds>", "give up after this long (exit 7)", num("--timeout"))
    .option("--host <machine>", "only sessions on this machine")
    .option("--socket <name|path>", "tmux: only sessions on this tmux server", socketArg)
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions wait build --timeout 600 && echo all green"))
    .action((names: string[], o) => ctx.set(waitCommand(names, o, ctx.out)));
  program
    .command("rerun")
    .description("run a finished tab's command again in a new tab of the same name (attempts are kept)")
    .argument("<target>", "SESSION/TAB, or SESSION with --failed")
    .option("--failed", "every tab of the session whose command failed")
    .option(
      "--max-parallel-tabs <n>",
      "with --failed: at most n of the session's tabs run at once (default: every one starts at once)",
      int("--max-parallel-tabs", 1),
    )
    .option(
      "--poll-seconds <s>",
      "poll interval with --max-parallel-tabs (at least 0.1)",
      num("--poll-seconds", 0.1),
      1,
    )
    .option("--host <machine>", "the machine the session runs on, when several have one of that name")
    .option(
      "--socket <name|path>",
      "tmux: the session's tmux server, when several have one of that name",
      socketArg,
    )
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions rerun build --failed --max-parallel-tabs 2"))
    .action((target: string, o) => ctx.set(rerunCommand(target, o, ctx.out)));
}
