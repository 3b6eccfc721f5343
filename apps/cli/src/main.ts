import { CONFLICT_POLICIES, type ConflictPolicy, McError } from "@mc/core";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { completionScript } from "./commands/completion.js";
import {
  balanceCommand,
  layoutFromCommand,
  schemaCommand,
  summarizeCommand,
  templateCommand,
  validateCommand,
} from "./commands/layouts.js";
import { attachCommand, killCommand, lsCommand, statusCommand } from "./commands/manage.js";
import { DEFAULT_LAYOUTS_FILE, type RunOptions, runCommand, runLayouts } from "./commands/run.js";
import { EXIT_CODES_HELP, reportError } from "./exit-codes.js";
import { makeOutput, type Output } from "./output.js";

declare const __MC_VERSION__: string;
const VERSION = typeof __MC_VERSION__ === "string" ? __MC_VERSION__ : "0.0.0-dev";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};
const policy = (v: string): ConflictPolicy => {
  if (!(CONFLICT_POLICIES as readonly string[]).includes(v))
    throw new InvalidArgumentError("use error, restart or rename");
  return v as ConflictPolicy;
};
const example = (text: string) => `\nExample:\n  ${text}\n`;
const collect = (v: string, prev: string[]) => [...prev, v];

function addRunOptions(c: Command): Command {
  return c
    .option(
      "-b, --backend <name>",
      "tmux, zellij, wt or auto (tmux if installed, else zellij; wt on Windows)",
      "auto",
    )
    .addOption(
      new Option("--on-conflict <policy>", "when a session name is taken: error, restart or rename")
        .default("error")
        .argParser(policy),
    )
    .option("-m, --monitor", "watch the tabs until every command has finished")
    .option(
      "-k, --kill-upon-completion",
      "kill the sessions when every command has finished (with --monitor or -p)",
    )
    .option("--interval <seconds>", "monitoring poll interval", num("--interval"), 2)
    .option("--prefix <prefix>", "put <prefix>_ before every session name")
    .option("--socket <name|path>", "tmux: a -L socket name, or a -S socket path (anything with a /)")
    .option(
      "--sleep-inbetween <seconds>",
      "wait between starting two layouts, and between batches",
      num("--sleep-inbetween"),
      0,
    )
    .option("--dry-run", "print the plan and every generated script or layout; start nothing");
}

/** Build the `sessions` program; `io` is where results go. */
export function buildProgram(state: { out: Output; code: number }): Command {
  const program = new Command("sessions")
    .description(
      "Run declarative terminal layouts on tmux, zellij or Windows Terminal, and keep track of them.",
    )
    .version(VERSION, "-V, --version")
    .option("--json", "machine-readable output on stdout")
    .option("--state-dir <dir>", "where mc keeps its state (default $XDG_STATE_HOME/mc; env MC_STATE_DIR)")
    .showHelpAfterError("(run with --help for usage)")
    // Set before subcommands are added: they copy these settings when created.
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      "after",
      `\n${EXIT_CODES_HELP}\n\nEnvironment: NO_COLOR disables colour; MC_STATE_DIR sets the state directory; MC_DEBUG=1 prints stack traces.`,
    )
    .hook("preAction", (cmd) => {
      const g = cmd.optsWithGlobals() as { json?: boolean; stateDir?: string };
      state.out = makeOutput(Boolean(g.json));
      if (g.stateDir) process.env.MC_STATE_DIR = g.stateDir;
    });
  const set = (p: Promise<number> | number) =>
    Promise.resolve(p).then((c) => {
      state.code = c;
    });

  addRunOptions(
    program
      .command("run")
      .description("start the layouts of a layouts file (machineconfig's format)")
      .argument("[layouts-file]", `layouts file (default ${DEFAULT_LAYOUTS_FILE})`)
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
        int("--parallel-layouts"),
      )
      .option("--max-tabs-per-layout <n>", "refuse layouts with more tabs", int("--max-tabs-per-layout"), 25)
      .option(
        "--max-parallel-layouts <n>",
        "refuse to start more layouts at once",
        int("--max-parallel-layouts"),
        25,
      )
      .option(
        "-H, --substitute-home",
        "expand ~ and $HOME at the start of startDir (always on; kept for machineconfig scripts)",
      )
      .option(
        "--max-parallel-tabs <n>",
        "keep n tabs of one layout running, starting the next as each finishes",
        int("--max-parallel-tabs"),
      )
      .option("--poll-seconds <s>", "poll interval with --max-parallel-tabs", num("--poll-seconds"), 2)
      .option("--kill-finished-tabs", "with --max-parallel-tabs: close each tab when its command finishes")
      .option(
        "--host <machine>",
        "run on this machine over ssh instead (repeat, or comma-separate, for several)",
        collect,
        [],
      )
      .option("--ssh-config <file>", "ssh client config for --host (default: ~/.ssh/config)"),
  )
    .addHelpText(
      "after",
      `${example("sessions run layouts.json -c build,test --on-conflict rename -m -k")}  sessions run layouts.json --host gpu-1 --host gpu-2 -m    # over ssh, one connection per machine\n`,
    )
    .action((file: string | undefined, o: RunOptions) => set(runCommand(file, o, state.out)));

  program
    .command("status")
    .description("per-tab status of the sessions mc manages: running, exited (code), killed, missing")
    .argument("[session]", "only this session")
    .option("-w, --watch", "keep the table updated until Ctrl-C")
    .option("-a, --all", "include sessions that are gone")
    .option("--interval <seconds>", "refresh interval with --watch", num("--interval"), 2)
    .option("--host <machine>", "only sessions on this machine")
    .addHelpText("after", example("sessions status --watch"))
    .action((name: string | undefined, o) => set(statusCommand(name, o, state.out)));

  program
    .command("attach")
    .description("attach this terminal to a managed session (switch-client inside tmux)")
    .argument("[session]", "session name (asked for when several run)")
    .option("--print", "print the attach command instead of running it")
    .option("--host <machine>", "the machine the session runs on, when several have one of that name")
    .addHelpText("after", example("sessions attach api"))
    .action((name: string | undefined, o) => set(attachCommand(name, o, state.out)));

  program
    .command("kill")
    .description("kill managed sessions (never sessions mc did not start)")
    .argument("[sessions...]", "session names")
    .option("--all", "every session mc manages")
    .option("--host <machine>", "only sessions on this machine")
    .addHelpText("after", example("sessions kill api web"))
    .action((names: string[], o) => set(killCommand(names, o, state.out)));

  program
    .command("ls")
    .description("list managed runs and their sessions (saved state)")
    .option("--prune", "forget runs whose sessions are all gone")
    .addHelpText("after", example("sessions ls --json"))
    .action((o) => set(lsCommand(o, state.out)));

  program
    .command("balance-load")
    .description("split or combine layouts so none is over a tab-count or weight threshold")
    .argument("<layouts-file>")
    .requiredOption(
      "-m, --max-threshold <n>",
      "most tabs (number) or weight (weight)",
      int("--max-threshold"),
    )
    .option("-t, --threshold-type <type>", "number or weight", "number")
    .option("-b, --breaking-method <method>", "moreLayouts or combineTabs", "moreLayouts")
    .option("-o, --output-path <file>", "where to write the result")
    .addHelpText(
      "after",
      example("sessions balance-load layouts.json -m 4 -t number -b moreLayouts -o balanced.json"),
    )
    .action((file: string, o) => set(balanceCommand(file, o, state.out)));

  program
    .command("create-template")
    .description("write a starter layouts file (layout.json, or NAME.json) for this directory")
    .argument("[name]")
    .option("--num-tabs <n>", "number of tabs", int("--num-tabs"), 3)
    .option("--force", "overwrite an existing file")
    .addHelpText("after", example("sessions create-template dev --num-tabs 4"))
    .action((name: string | undefined, o) => set(templateCommand(name, o, state.out)));

  program
    .command("summarize")
    .description("layouts, tabs and weights of a layouts file")
    .argument("<layouts-file>")
    .addHelpText("after", example("sessions summarize layouts.json"))
    .action((file: string) => set(summarizeCommand(file, state.out)));

  program
    .command("validate")
    .description("check a layouts file; every problem with its line:column")
    .argument("<layouts-file>")
    .addHelpText("after", example("sessions validate layouts.json"))
    .action((file: string) => set(validateCommand(file, state.out)));

  program
    .command("schema")
    .description("print the JSON Schema of layouts files")
    .addHelpText("after", example("sessions schema > layouts.schema.json"))
    .action(() => set(schemaCommand()));

  addRunOptions(
    program
      .command("create-from-command")
      .description("run N tabs of one command, with {idx} and {idx_max} replaced in each")
      .requiredOption("-n, --num <n>", "number of tabs", int("-n"))
      .option("--name <layout>", "layout (session) name", "fromCommand")
      .option("--start-dir <dir>", "directory the tabs start in", process.cwd())
      .option("-o, --output <file>", "write the layouts file instead of running it")
      .argument("<command...>", "the command (one argument: a shell command line; several: an argv)"),
  )
    .addHelpText(
      "after",
      example("sessions create-from-command -n 4 -m -k -- python train.py --shard {idx} --of {idx_max}"),
    )
    .action(
      async (
        argv: string[],
        o: RunOptions & { num: number; name: string; startDir: string; output?: string },
      ) => {
        const layout = layoutFromCommand({ num: o.num, name: o.name, startDir: o.startDir }, argv);
        if (o.output) {
          const { writeFileAtomic, MACHINECONFIG_SCHEMA_URL } = await import("@mc/core");
          await writeFileAtomic(
            o.output,
            `${JSON.stringify({ $schema: MACHINECONFIG_SCHEMA_URL, version: "0.1", layouts: [layout] }, null, 4)}\n`,
          );
          state.out.out(o.output);
          state.code = 0;
          return;
        }
        await set(
          runLayouts(
            [layout],
            { ...o, maxTabsPerLayout: Number.POSITIVE_INFINITY, maxParallelLayouts: 25, pollSeconds: 2 },
            state.out,
          ),
        );
      },
    );

  program
    .command("completion")
    .description("print a shell completion script")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText(
      "after",
      example("sessions completion bash > ~/.local/share/bash-completion/completions/sessions"),
    )
    .action((shell: string) => {
      process.stdout.write(completionScript(program, shell));
      state.code = 0;
    });

  return program;
}

/** Run the CLI; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const state = { out: makeOutput(argv.includes("--json")), code: 0 };
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv);
    return state.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof McError || (e as Error)?.name === "McError") return reportError(e, state.out);
    if ((e as Error)?.name === "ExitPromptError") return 130;
    return reportError(e, state.out);
  }
}
