import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { attachCommand } from "../commands/attach.js";
import { completionScript } from "../commands/completion.js";
import {
  balanceCommand,
  layoutFromCommand,
  schemaCommand,
  summarizeCommand,
  templateCommand,
  validateCommand,
} from "../commands/layouts.js";
import { killCommand, lsCommand, statusCommand } from "../commands/manage.js";
import { DEFAULT_LAYOUTS_HELP, type RunOptions, runCommand, runLayouts } from "../commands/run.js";
import type { Output } from "../output.js";
import { backendOf } from "../registry.js";
import { DEFAULT_MAX_PARALLEL_LAYOUTS, DEFAULT_MAX_TABS_PER_LAYOUT } from "../select.js";
import {
  addRunOptions,
  BACKEND_FILTER,
  checkRunFlags,
  collect,
  example,
  int,
  nameArg,
  num,
  socketArg,
  socketNeedsTmux,
} from "./options.js";

/** What every command's action reaches: the output and where its exit code goes. */
export interface Ctx {
  readonly out: Output;
  set(code: Promise<number> | number): Promise<void>;
}

/** `-k` and `--notify` take effect: they imply watching until the commands finish. */
const effective = (o: RunOptions): RunOptions =>
  o.killUponCompletion || o.notify !== undefined ? { ...o, monitor: true } : o;

/** `sessions run`. */
export function registerRun(program: Command, ctx: Ctx): void {
  const cmd = addRunOptions(
    program
      .command("run")
      .alias("r")
      .description("start the layouts of a layouts file (machineconfig's format)")
      .argument("[layouts-file]", `layouts file, - for standard input (default ${DEFAULT_LAYOUTS_HELP})`)
      .option("-f, --layouts-file <file>", "layouts file (same as the argument)")
      .option("-c, --choose-layouts <names>", "comma-separated layout names to run")
      .option(
        "-t, --choose-tabs <tabs>",
        "comma-separated Tab or Layout::Tab to run, merged into one layout 'custom-tabs'",
      )
      .option("-i, --interactive", "choose layouts in a terminal prompt")
      .option(
        "-p, --parallel-layouts <n>",
        "run layouts in batches of n: start, monitor until done, next batch",
        int("--parallel-layouts", 1),
      )
      .option(
        "-T, --max-tabs-per-layout <n>",
        "refuse layouts with more tabs",
        int("--max-tabs-per-layout", 1),
        DEFAULT_MAX_TABS_PER_LAYOUT,
      )
      .option(
        "-P, --max-parallel-layouts <n>",
        "refuse to start more layouts at once",
        int("--max-parallel-layouts", 1),
        DEFAULT_MAX_PARALLEL_LAYOUTS,
      )
      .option(
        "-H, --substitute-home",
        "expand ~ and $HOME at the start of startDir (always on; kept for machineconfig scripts)",
      )
      .option(
        "--max-parallel-tabs <n>",
        "keep n tabs of one layout running, starting the next as each finishes",
        int("--max-parallel-tabs", 1),
      )
      .option(
        "--poll-seconds <s>",
        "with --max-parallel-tabs: how often to ask the tool (at least 0.1; a tab ending on this machine is seen at once)",
        num("--poll-seconds", 0.1),
        2,
      )
      .option("--kill-finished-tabs", "with --max-parallel-tabs: close each tab when its command finishes")
      .option(
        "--all-file",
        "with --max-parallel-tabs: every tab of every layout, as one session (all-layouts-dynamic)",
      )
      .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
      .option(
        "--host <machine>",
        "run on this machine over ssh instead (repeat, or comma-separate, for several)",
        collect,
        [],
      )
      .option("--ssh-config <file>", "ssh client config for --host (default: ~/.ssh/config)"),
  );
  cmd
    .addHelpText(
      "after",
      `${example("sessions run layouts.json -c build,test --on-conflict rename -m -k")}  sessions run layouts.json --host gpu-1 --host gpu-2 -m    # over ssh\n`,
    )
    .action((file: string | undefined, o: RunOptions) => {
      checkRunFlags(o, file, (k) => cmd.getOptionValueSource(k) === "cli");
      return ctx.set(runCommand(file, effective(o), ctx.out));
    });
}

/** `run-all` (machineconfig's --all-file, stackops' run-all): every tab of a file, N at a time, as one session. */
export function registerRunAll(program: Command, ctx: Ctx): void {
  const cmd = addRunOptions(
    program
      .command("run-all")
      .alias("R")
      .description(
        "run every tab of every layout in a file as one session, N tabs at a time (all-layouts-dynamic)",
      )
      .argument("[layouts-file]", `layouts file, - for standard input (default ${DEFAULT_LAYOUTS_HELP})`)
      .option("-f, --layouts-file <file>", "layouts file (same as the argument)")
      .requiredOption(
        "-t, --max-parallel-tabs <n>",
        "how many tabs run at once (required)",
        int("--max-parallel-tabs", 1),
      )
      .option(
        "--poll-seconds <s>",
        "how often to ask the tool for finished tabs (at least 0.1; a tab ending on this machine is seen at once)",
        num("--poll-seconds", 0.1),
        2,
      )
      .option("--kill-finished-tabs", "close each tab when its command finishes")
      .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
      .option(
        "--host <machine>",
        "run on this machine over ssh instead (repeat, or comma-separate, for several)",
        collect,
        [],
      )
      .option("--ssh-config <file>", "ssh client config for --host (default: ~/.ssh/config)"),
  );
  cmd
    .addHelpText("after", example("sessions run-all jobs.json -t 4 -k"))
    .action((file: string | undefined, o: RunOptions) => {
      checkRunFlags(o, file, (k) => cmd.getOptionValueSource(k) === "cli");
      const all = { ...o, allFile: true, maxTabsPerLayout: Number.POSITIVE_INFINITY, maxParallelLayouts: 25 };
      return ctx.set(runCommand(file, effective(all), ctx.out));
    });
}

/** `status`, `attach`, `kill`, `ls`: what mc manages. */
export function registerManage(program: Command, ctx: Ctx): void {
  program
    .command("status")
    .description("per-tab status of the sessions mc manages: running, exited (code), killed, missing")
    .argument("[session]", "only this session")
    .option("-w, --watch", "keep the table updated until Ctrl-C")
    .option(
      "-a, --all",
      "include sessions that ended outside mc (those mc killed: sessions ls, logs, events)",
    )
    .option("--interval <seconds>", "refresh interval with --watch (at least 0.1)", num("--interval", 0.1), 2)
    .option(
      "--tail <n>",
      "show the last n lines of each failed tab's log (its kept shell's prompt, if any, is the last)",
      int("--tail"),
    )
    .option("--host <machine>", "only sessions on this machine")
    .option("--socket <name|path>", "tmux: only sessions on this tmux server", socketArg)
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions status --watch"))
    .action((name: string | undefined, o) => ctx.set(statusCommand(name, o, ctx.out)));
  program
    .command("attach")
    .alias("a")
    .description(
      "attach this terminal to a session, mc's or not (a picker without a name; switch-client inside tmux)",
    )
    .argument("[session]", "session name (the name in the layouts file or the one the tool shows)")
    .option("-n, --new-session", "start a plain new session instead")
    .option("-b, --backend <name>", "tmux, zellij, wt or auto, for sessions mc did not start", "auto")
    .option("--print", "print the attach command instead of running it")
    // machineconfig's kill-all flag: refused with where that went (review H50-12: "unknown option").
    .addOption(new Option("-k, --kill-all").hideHelp())
    .option(
      "--host <machine>",
      "the machine the session runs on (over ssh; for sessions mc did not start, the one looked on)",
    )
    .option("--ssh-config <file>", "ssh client config for --host (default: ~/.ssh/config)")
    .option(
      "--socket <name|path>",
      "tmux: the session's tmux server, when several have one of that name",
      socketArg,
    )
    .hook("preAction", socketNeedsTmux)
    .addHelpText("after", example("sessions attach api"))
    .action((name: string | undefined, o) => ctx.set(attachCommand(name, o, ctx.out)));
  program
    .command("kill")
    .description("kill managed sessions (never sessions mc did not start)")
    .argument("[sessions...]", "session names")
    .option("--all", "every session mc manages")
    .option("--host <machine>", "only sessions on this machine")
    .option("--socket <name|path>", "tmux: only sessions on this tmux server", socketArg)
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions kill api web"))
    .action((names: string[], o) => ctx.set(killCommand(names, o, ctx.out)));
  program
    .command("ls")
    .description("list managed runs and their sessions (saved state)")
    .option("--prune", "forget runs whose sessions are all gone, and remove unreadable run records")
    .option("--socket <name|path>", "tmux: only runs on this tmux server", socketArg)
    .hook("preAction", socketNeedsTmux)
    .option("--backend <name>", BACKEND_FILTER)
    .addHelpText("after", example("sessions ls --json"))
    .action((o) => ctx.set(lsCommand(o, ctx.out)));
}

/** `balance-load`, `create-template`, `summarize`, `validate`, `schema`: tools for layouts files. */
export function registerLayoutTools(program: Command, ctx: Ctx): void {
  program
    .command("balance-load")
    .alias("b")
    .description("split or combine layouts so none is over a tab-count or weight threshold")
    .argument("<layouts-file>")
    .requiredOption(
      "-m, --max-threshold <n>",
      "most tabs (number) or weight (weight)",
      // A weight threshold goes as far as a weight may (review H59-5: weights in bytes or seconds).
      int("--max-threshold", 1, Number.MAX_SAFE_INTEGER),
    )
    .option("-t, --threshold-type <type>", "number or weight", "number")
    .option("-b, --breaking-method <method>", "moreLayouts or combineTabs", "moreLayouts")
    .option("-o, --output-path <file>", "where to write the result")
    .option("--force", "with -o: overwrite an existing file")
    .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
    .addHelpText("after", example("sessions balance-load layouts.json -m 4 -b moreLayouts -o balanced.json"))
    .action((file: string, o) => ctx.set(balanceCommand(file, o, ctx.out)));
  program
    .command("create-template")
    .alias("t")
    .description("write a starter layouts file (layout.json, or NAME.json) for this directory")
    .argument("[name]")
    .option("-t, --num-tabs <n>", "number of tabs", int("--num-tabs", 1), 3)
    .option("--force", "overwrite an existing file")
    .addHelpText("after", example("sessions create-template dev --num-tabs 4"))
    .action((name: string | undefined, o) => ctx.set(templateCommand(name, o, ctx.out)));
  program
    .command("summarize")
    .alias("s")
    .description("layouts, tabs and weights of a layouts file")
    .argument("<layouts-file>")
    .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
    .addHelpText("after", example("sessions summarize layouts.json"))
    .action((file: string, o: { lenient?: boolean }) => ctx.set(summarizeCommand(file, o, ctx.out)));
  program
    .command("validate")
    .description("check a layouts file; every problem with its line:column")
    .argument("<layouts-file>")
    .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
    .addHelpText("after", example("sessions validate layouts.json"))
    .action((file: string, o: { lenient?: boolean }) => ctx.set(validateCommand(file, o, ctx.out)));
  program
    .command("schema")
    .description("print the JSON Schema of layouts files, or of a command's --json output")
    .argument(
      "[name]",
      "layouts (default), status, run, event, dry-run, ls, kill, attach, validate, error, log-line, wait, rerun, convert, export, summarize, balance-load, create-template or create-from-command",
    )
    .addHelpText("after", example("sessions schema > layouts.schema.json"))
    .action((name: string | undefined) => ctx.set(schemaCommand(name, ctx.out)));
}

type FromCommandOptions = RunOptions & {
  num: number;
  name: string;
  startDir?: string;
  output?: string;
  force?: boolean;
};

/** `create-from-command`: N tabs of one command. */
export function registerFromCommand(program: Command, ctx: Ctx): void {
  const cmd = addRunOptions(
    program
      .command("create-from-command")
      .alias("c")
      .description("run N tabs of one command, with {idx} and {idx_max} replaced in each")
      .requiredOption("-n, --num <n>", "number of tabs (at most --max-tabs-per-layout)", int("--num", 1))
      .option("--max-tabs-per-layout <n>", "refuse more tabs", int("--max-tabs-per-layout", 1), 25)
      .option("--name <layout>", "layout (session) name", nameArg("--name"), "fromCommand")
      // Not the path itself as the default: a long cwd made --help wider than 80 columns (review H57-9).
      .option("--start-dir <dir>", "directory the tabs start in (default: the current directory)")
      .option("-o, --output <file>", "write the layouts file instead of running it")
      .option("--force", "with -o: overwrite an existing file")
      .argument("<command...>", "the command (one argument: a shell command line; several: an argv)"),
  );
  cmd
    .addHelpText("after", example("sessions create-from-command -n 4 -m -k -- python train.py --shard {idx}"))
    .action(async (argv: string[], o: FromCommandOptions) => {
      // Windows Terminal's tabs read the command as PowerShell: an argv is quoted for it.
      const chosen = backendOf(o.backend ?? "auto");
      // So with -o too: a file written for -b wt is one for Windows Terminal (review H33-4).
      const powershell =
        chosen === "wt" || (chosen === "auto" && process.platform === "win32" && !o.host?.length);
      const layout = layoutFromCommand(
        {
          num: o.num,
          name: o.name,
          startDir: o.startDir ?? process.cwd(),
          maxTabs: o.maxTabsPerLayout,
          powershell,
        },
        argv,
      );
      if (o.output) {
        const { schemaLine } = await import("@mc/core");
        const { writeOutputFile } = await import("../output-file.js");
        const text = JSON.stringify({ ...schemaLine([layout]), version: "0.1", layouts: [layout] }, null, 4);
        // An existing file is kept unless --force (review H52-13, as import/export/freeze -o).
        await writeOutputFile(o.output, `${text}\n`, "-o", undefined, o.force === true);
        // With --json, JSON as create-template prints it (review H57-6: the bare path was not JSON).
        if (ctx.out.json) ctx.out.printJson({ written: resolve(o.output) });
        else ctx.out.out(o.output);
        return ctx.set(0);
      }
      return ctx.set(
        runLayouts([layout], effective({ ...o, maxParallelLayouts: 25, pollSeconds: 2 }), ctx.out),
      );
    });
}

/** `completion bash|zsh|fish`. */
export function registerCompletion(program: Command, ctx: Ctx): void {
  program
    .command("completion")
    .description("print a shell completion script")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText(
      "after",
      // The directory first: a fresh HOME has none, and the redirect failed (review H57-8).
      example(
        "mkdir -p ~/.local/share/bash-completion/completions\n  sessions completion bash > ~/.local/share/bash-completion/completions/sessions",
      ),
    )
    .action((shell: string) => {
      ctx.out.data(completionScript(program, shell));
      return ctx.set(0);
    });
}
