import { type Command, Option } from "commander";
import { FORMATS } from "../convert/types.js";
import type { Ctx } from "./commands.js";
import { example, nameArg, socketArg, socketNeedsTmux } from "./options.js";

// The converters (YAML, KDL parsers) load only when one of these commands runs: every other command starts
// without them (kdljs builds its parser at load, ~45 ms).
const convert = () => import("../commands/convert.js");

// An -o onto a file that is there is refused without it, as create-template's (review H50-11).
const FORCE = "with -o: overwrite an existing file";

/** `import`, `export`, `freeze`: from and to tmuxp, tmuxinator and zellij, and from running sessions. */
export function registerConvert(program: Command, ctx: Ctx): void {
  program
    .command("import")
    .description("convert a tmuxp, tmuxinator or zellij layout into an mc layouts file (stdout, or -o)")
    .argument("<file>", "a tmuxp workspace (.yaml/.json), tmuxinator project (.yml) or zellij layout (.kdl)")
    .option("-o, --output <file>", "write the layouts file here (atomically) instead of printing it")
    .option("--force", FORCE)
    .addOption(
      new Option("--from <format>", "the file's format, when its name and content do not tell").choices(
        FORMATS,
      ),
    )
    .option(
      "--name <layout>",
      "the layout's name (default: the session name in the file; zellij: the file's name)",
      nameArg("--name"),
    )
    .addHelpText("after", example("sessions import ~/.tmuxinator/api.yml -o api.json"))
    .action((file: string, o) => ctx.set(convert().then((c) => c.importCommand(file, o, ctx.out))));
  program
    .command("export")
    .description("convert a layouts file into a tmuxp, tmuxinator or zellij file that loads in that tool")
    .argument("<layouts-file>", "an mc layouts file (or a file sessions import reads)")
    .addOption(new Option("--to <format>", "the tool to write for").choices(FORMATS).makeOptionMandatory())
    .option("-o, --output <file>", "write it here (atomically) instead of printing it")
    .option("--force", FORCE)
    .option("-l, --layout <name>", "which layout, when the file has several (each becomes one session)")
    .option("--lenient", "warn about and ignore unknown keys; read a tabWeight given as a numeric string")
    .addHelpText("after", example("sessions export layouts.json --to tmuxp -l api -o api.yaml"))
    .action((file: string, o) => ctx.set(convert().then((c) => c.exportCommand(file, o, ctx.out))));
  program
    .command("freeze")
    .description("write a layouts file from a running tmux or zellij session, mc's or not (stdout, or -o)")
    .argument(
      "<session>",
      "the session's name, as tmux or zellij shows it (on tmux also mc's name of it or its layout's)",
    )
    .option("-o, --output <file>", "write the layouts file here (atomically) instead of printing it")
    .option("--force", FORCE)
    .addOption(
      new Option("-b, --backend <name>", "where the session runs")
        .choices(["tmux", "zellij", "auto", "t", "z", "a"])
        .default("auto"),
    )
    .option(
      "--socket <name|path>",
      "tmux: a -L socket name, or a -S socket path (anything with a /)",
      socketArg,
    )
    .hook("preAction", socketNeedsTmux)
    .addHelpText(
      "after",
      `${example("sessions freeze work -o work.json && sessions export work.json --to tmuxp")}
Each pane keeps the directory it is in; a finished pane (remain-on-exit) the one
it started in, and a pane tmux knows no directory for starts in your home
directory (~), with a warning.
`,
    )
    .action((session: string, o) => ctx.set(convert().then((c) => c.freezeCommand(session, o, ctx.out))));
}
