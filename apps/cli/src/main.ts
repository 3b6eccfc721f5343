import { envSeconds, isMcError, McError } from "@mc/core";
import { Command, CommanderError, type Option } from "commander";
import { ownsWork } from "./compile-cache.js";
import { EXIT_CODES_HELP, reportError } from "./exit-codes.js";
import { keepWorkingWhenOutputFails, makeOutput, type Output } from "./output.js";
import {
  type Ctx,
  registerCompletion,
  registerFromCommand,
  registerLayoutTools,
  registerManage,
  registerRun,
  registerRunAll,
} from "./program/commands.js";
import { registerConvert } from "./program/convert.js";
import { registerJobs } from "./program/jobs.js";
import { argsNotUtf8, envNotUtf8 } from "./utf8-input.js";

export { exitingSoon } from "./commands/stop-soon.js";

declare const __MC_VERSION__: string;
const VERSION = typeof __MC_VERSION__ === "string" ? __MC_VERSION__ : "0.0.0-dev";

/**
 * An option given without its value takes the next word, whatever it is: `run f --socket --dry-run` (a
 * script's empty `$SOCK`) started real sessions on a server named "--dry-run", `--state-dir --dry-run` under
 * a state directory no later command reads (review H61-1). A value that is, as the next word, one of the
 * command's own options is refused; `--socket=--x` still gives a value that starts with `-`.
 */
function optionTakenAsValue(action: Command, args: readonly string[]): string | undefined {
  const options: Option[] = [];
  for (let c: Command | null = action; c; c = c.parent) options.push(...c.options);
  const names = (o: Option) => [o.long, o.short].filter((f): f is string => f !== undefined);
  const flags = new Set(["-h", "--help", "-V", "--version", ...options.flatMap(names)]);
  const takesValue = new Set(options.filter((o) => o.required).flatMap(names));
  // Which option of a word takes the next word as its value: itself, or in a group of short flags
  // (`-mf`), the last letter when it takes one and no letter before it does (commander reads the rest of
  // the word as that letter's value).
  const valueTaker = (a: string): string | undefined => {
    if (takesValue.has(a)) return a;
    if (!/^-[A-Za-z]{2,}$/.test(a)) return undefined;
    for (const [k, ch] of [...a.slice(1)].entries())
      if (takesValue.has(`-${ch}`)) return k === a.length - 2 ? `-${ch}` : undefined;
    return undefined;
  };
  for (let i = 0; i < args.length - 1; i++) {
    const a = args[i]!;
    if (a === "--") break;
    const taker = valueTaker(a);
    if (taker === undefined) continue;
    const next = args[++i]!;
    // `--` is no value either: commander took it as one (`run -f -- --dry-run`).
    if (next === "--" || flags.has(next.split("=")[0]!))
      return `${taker}${taker === a ? "" : ` (in ${a})`} needs a value, but the next word is ${next === "--" ? "--" : `the option ${next}`}`;
  }
  return undefined;
}

/** Build the `sessions` program; `state` is where its output and exit code go (`args`: the command line). */
export function buildProgram(state: { out: Output; code: number; args?: readonly string[] }): Command {
  const program = new Command("sessions")
    .description(
      "Run declarative terminal layouts on tmux, zellij or Windows Terminal, and keep track of them.",
    )
    .version(VERSION, "-V, --version")
    .option("--json", "machine-readable output on stdout")
    .option("--state-dir <dir>", "where mc keeps its state (default $XDG_STATE_HOME/mc; env MC_STATE_DIR)")
    .showHelpAfterError("(run with --help for usage)")
    // Set before subcommands are added: they copy these settings when created. Commander's own messages
    // quote what the user typed: they pass the display function too, and with --json they become JSON.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => state.out.outText(s),
      writeErr: (s) => (state.out.json ? undefined : state.out.errText(s)),
    })
    // The command list without "[options]" and arguments: its column narrow enough that commander wraps
    // the descriptions at 80 columns (it does not when fewer than 40 are left for them).
    .configureHelp({
      subcommandTerm: (cmd) => [cmd.name(), ...cmd.aliases()].join("|"),
    })
    .addHelpText(
      "after",
      `\n${EXIT_CODES_HELP}\n\nEnvironment:\n  NO_COLOR disables colour; FORCE_COLOR=0/1 turns it off/on, over NO_COLOR\n  MC_STATE_DIR    the state directory\n  MC_CACHE_DIR    the compile cache's directory (MC_NO_COMPILE_CACHE=1: none)\n  MC_TMUX_TIMEOUT how long one tmux call may take, in seconds (default 15)\n  MC_DEBUG=1      prints stack traces`,
    )
    .hook("preAction", (cmd, action) => {
      const g = cmd.optsWithGlobals() as { json?: boolean; stateDir?: string };
      state.out = makeOutput(Boolean(g.json));
      const swallowed = optionTakenAsValue(action, state.args ?? []);
      if (swallowed)
        throw new McError("USAGE", `${swallowed}: nothing was done`, {
          backend: "cli",
          hint: "give the value, or as --option=VALUE when it starts with -",
        });
      // An empty --state-dir (a script's unset variable) must never fall back to the user's real state.
      if (g.stateDir === "")
        throw new McError("USAGE", "--state-dir is empty: give a directory", { backend: "cli" });
      if (g.stateDir) process.env.MC_STATE_DIR = g.stateDir;
      // The state directory is in every tab's marker and script path: a control character (a newline
      // would split the kill sweep's patterns) has no place there.
      const dir = process.env.MC_STATE_DIR;
      if (dir && /[\u0000-\u001f\u007f-\u009f]/.test(dir))
        throw new McError(
          "USAGE",
          `the state directory ${JSON.stringify(dir)} holds a control character (newline, tab, …)`,
          { backend: "cli", hint: "choose another with --state-dir or MC_STATE_DIR" },
        );
      // Read by @mc/tmux (tmuxAnswerMs) when a backend is made, also while run records load: a bad value
      // is refused here, before any command, not read as an unreadable record.
      envSeconds("MC_TMUX_TIMEOUT", 3600);
    });
  const ctx: Ctx = {
    get out() {
      return state.out;
    },
    set: (p) =>
      Promise.resolve(p).then((c) => {
        state.code = c;
      }),
  };
  registerRun(program, ctx);
  registerRunAll(program, ctx);
  registerManage(program, ctx);
  registerJobs(program, ctx);
  registerLayoutTools(program, ctx);
  registerFromCommand(program, ctx);
  registerConvert(program, ctx);
  registerCompletion(program, ctx);
  return program;
}

let commandNames = new Set<string>();

/** Whether `word` names one of the CLI's commands (or an alias), once {@link main} has run. */
export function isCommand(word: string): boolean {
  return commandNames.has(word);
}

/** tmuxp's, tmuxinator's and smug's verbs, and what they are here. */
const PEER_VERBS: Record<string, string> = {
  load: "tmuxp's load is sessions run FILE (tmuxp files are read as they are)",
  start: "tmuxinator's and smug's start is sessions run FILE",
  stop: "tmuxinator's and smug's stop is sessions kill SESSION",
  up: "sessions run FILE starts layouts",
  down: "sessions kill SESSION (or --all) ends them",
  new: "sessions create-template NAME writes a new layouts file",
  list: "sessions ls lists what mc started; sessions attach lists every session",
};

/** The command word of a command line: the first argument that is not a global option (or its value). */
function firstWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--state-dir") i++;
    else if (!a.startsWith("-")) return a;
    else if (a === "--") return args[i + 1];
  }
  return undefined;
}

/** A usage error said before commander runs: exit 2, as commander's own. */
function usageError(out: Output, message: string): number {
  if (out.json) out.errJson({ error: { code: "USAGE", message } });
  else out.err(`error: ${message}`);
  return 2;
}

/** Run the CLI; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  keepWorkingWhenOutputFails(ownsWork(argv.slice(2)));
  const state = { out: makeOutput(argv.includes("--json")), code: 0, args: argv.slice(2) };
  // `-V` after a command is never the version: commander printed it and exited 0 for `--host -V`, so a
  // script passing a value that starts with `-` read success where nothing ran.
  const opts = argv.slice(3);
  const end = opts.indexOf("--");
  const late = (end < 0 ? opts : opts.slice(0, end)).find((a) => a === "-V" || a === "--version");
  if (late !== undefined) {
    return usageError(
      state.out,
      `${late} after a command: the version is \`sessions --version\`; a value starting with - is given as --option=VALUE`,
    );
  }
  const alteredEnv = envNotUtf8();
  if (alteredEnv.length) {
    const one = alteredEnv.length === 1;
    return usageError(
      state.out,
      `${alteredEnv.join(", ")} ${one ? "is" : "are"} not UTF-8: mc would use ${one ? "it" : "them"} altered (each byte that is not as \uFFFD: another directory), so nothing was done; set ${one ? "it" : "them"} in UTF-8`,
    );
  }
  const altered = argsNotUtf8(argv.slice(2));
  if (altered.length) {
    const one = altered.length === 1;
    return usageError(
      state.out,
      `${one ? "an argument is" : `${altered.length} arguments are`} not UTF-8 (${altered.map((a) => JSON.stringify(a)).join(", ")}, each byte that is not shown as \uFFFD): mc would pass ${one ? "it" : "them"} on altered, so nothing was done; give ${one ? "it" : "them"} in UTF-8`,
    );
  }
  const program = buildProgram(state);
  commandNames = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  // The verbs of the tools people come from: commander would suggest a look-alike (load → logs).
  const word = firstWord(argv.slice(2));
  const peer = word === undefined || isCommand(word) ? undefined : PEER_VERBS[word];
  if (peer) {
    return usageError(state.out, `unknown command '${word}': ${peer}`);
  }
  // `help NAME` of no command is the usage error `sessions NAME` is: commander printed the general help
  // and exited 0, so a script asking `sessions help bogus` read success (review H57-11).
  if (word === "help") {
    const rest = argv.slice(2);
    const asked = rest.slice(rest.indexOf("help") + 1).find((a) => !a.startsWith("-"));
    if (asked !== undefined && asked !== "help" && !isCommand(asked))
      return usageError(state.out, `unknown command '${asked}' (sessions --help lists the commands)`);
  }
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
      if (e.exitCode === 0) return 0;
      if (state.out.json)
        state.out.errJson({ error: { code: "USAGE", message: e.message.replace(/^error: /, "") } });
      return 2;
    }
    if (isMcError(e)) return reportError(e, state.out);
    if ((e as Error)?.name === "ExitPromptError") return 130;
    return reportError(e, state.out);
  }
}
