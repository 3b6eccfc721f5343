import { CONFLICT_POLICIES, McError } from "@mc/core";
import type { Command } from "commander";

interface Spec {
  name: string;
  aliases: string[];
  description: string;
  options: string[];
  /** Options that take a value: the word after one is a file or a value, never a session name. */
  valued: string[];
  /** The options of fixed values (`--on-conflict`, `--to`): each flag, and the values it takes. */
  choices: { flags: string[]; values: string[] }[];
  /** Each option whole (fish pairs a short flag with its long one). */
  each: { short?: string; long?: string; valued: boolean; values?: string[] }[];
}

/** Commands whose argument is a managed session (`logs` and `rerun` take SESSION/TAB; the name starts it). */
const SESSION_ARG = ["status", "attach", "kill", "logs", "events", "wait", "rerun"];
/** `sessions schema NAME` (the layouts file's, then every --json output's; a test keeps it whole). */
export const SCHEMA_NAMES = [
  "layouts",
  "status",
  "error",
  "run",
  "event",
  "dry-run",
  "ls",
  "kill",
  "attach",
  "validate",
  "log-line",
  "wait",
  "rerun",
  "convert",
  "export",
  "summarize",
  "balance-load",
  "create-template",
  "create-from-command",
];
const SHELLS = ["bash", "zsh", "fish"];

const flags = (o: Command["options"][number]) => [o.short, o.long].filter((x): x is string => Boolean(x));
/** Every command's help flags (commander adds them; they are not in a command's options). */
const HELP = ["-h", "--help"];
/** The program's options refused after a command (`sessions run --version`: review H57-7). */
const BEFORE_COMMAND_ONLY = ["-V", "--version"];

/**
 * Values of options that read them with a parser of their own (to take aliases too), so commander has no
 * `argChoices` for them: what completion offers (the canonical words).
 */
const PARSED_VALUES: Record<string, readonly string[]> = {
  "--on-conflict": CONFLICT_POLICIES,
  "--backend": ["tmux", "zellij", "wt", "auto"],
  "--threshold-type": ["number", "weight"],
  "--breaking-method": ["moreLayouts", "combineTabs"],
};
const valuesOf = (o: Command["options"][number]): string[] | undefined =>
  o.argChoices?.length
    ? o.argChoices
    : o.long && PARSED_VALUES[o.long]
      ? [...PARSED_VALUES[o.long]!]
      : undefined;

function specs(program: Command): Spec[] {
  // A hidden option is one kept only to refuse it with a hint (attach -k): never offered.
  return program.commands.map((c) => {
    const shown = c.options.filter((o) => !o.hidden);
    return {
      name: c.name(),
      aliases: c.aliases(),
      description: c.description(),
      options: [...shown.flatMap(flags), ...HELP],
      valued: shown.filter((o) => o.required || o.optional).flatMap(flags),
      choices: shown.flatMap((o) => {
        const values = valuesOf(o);
        return values ? [{ flags: flags(o), values }] : [];
      }),
      each: [
        ...shown.map((o) => ({
          ...(o.short ? { short: o.short } : {}),
          ...(o.long ? { long: o.long } : {}),
          valued: o.required || o.optional,
          ...(valuesOf(o) ? { values: valuesOf(o)! } : {}),
        })),
        { short: "-h", long: "--help", valued: false },
      ],
    };
  });
}

/**
 * The names of the sessions mc manages, one a line, from `sessions ls --json` (its "session" fields); a
 * name JSON had to escape (a quote, a backslash, a control character) is left out rather than shown wrong.
 */
const SESSION_NAMES_SH = `"\${COMP_WORDS[0]}" ls --json 2>/dev/null | grep -v '\\\\' | sed -n 's/^ *"session": "\\(.*\\)",\\{0,1\\}$/\\1/p'`;

function bashScript(program: Command, cmds: Spec[]): string {
  const own = program.options.flatMap(flags);
  const global = [...own, ...HELP];
  // After a command: the program's options it takes (its own -h/--help are in its options).
  const after = own.filter((f) => !BEFORE_COMMAND_ONLY.includes(f));
  const commandNames = cmds.flatMap((c) => [c.name, ...c.aliases]);
  const names = [...commandNames, "help"].join(" ");
  const pattern = (c: Spec) => [c.name, ...c.aliases].join("|");
  const cases = cmds
    .map((c) => `    ${pattern(c)}) opts="${c.options.join(" ")}" valued="${c.valued.join(" ")}" ;;`)
    .join("\n");
  // An option of fixed values completes to them (they are plain words: no quoting needed).
  const choiceCases = cmds
    .flatMap((c) =>
      c.choices.map(
        (ch) =>
          `      ${[c.name, ...c.aliases].flatMap((n) => ch.flags.map((f) => `"${n} ${f}"`)).join("|")}) words=$'${ch.values.join("\\n")}' ;;`,
      ),
    )
    .join("\n");
  const sessionCase = cmds
    .filter((c) => SESSION_ARG.includes(c.name))
    .map(pattern)
    .join("|");
  return `# Files and directories one a line, as they are (an unquoted $(compgen -f) split a name with a space
# into words and expanded * and [..] in one: review H39-8); the shell quotes them as file names.
_sessions_paths() {
  COMPREPLY=()
  local f p
  # compgen gives one name a line: a name holding a newline comes as pieces, offered only where a piece is
  # itself a file (review H42-7).
  while IFS= read -r f; do
    p="$f"
    case "$p" in
      "~"|"~/"*) p="$HOME\${p#"~"}" ;;
      # Another user's home is not expanded here (no eval): offered as compgen found it (review H45-4).
      "~"*) COMPREPLY+=("$f"); continue ;;
    esac
    if [ -e "$p" ] || [ -L "$p" ]; then COMPREPLY+=("$f"); fi
  done < <(compgen "$1" -- "$cur")
  compopt -o filenames 2>/dev/null || true
}
_sessions_complete() {
  local cur prev cmd opts valued words i j w dashdash seen
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command is the first word that is not an option (the global --state-dir takes the next word).
  cmd=""
  i=1
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --state-dir) i=$((i + 2)); continue ;;
      -*) ;;
      *) cmd="$w"; break ;;
    esac
    i=$((i + 1))
  done
  if [ "$prev" = --state-dir ]; then
    _sessions_paths -d
    return
  fi
  if [ -z "$cmd" ]; then
    COMPREPLY=( $(compgen -W "${names} ${global.join(" ")}" -- "$cur") )
    return
  fi
  if [ "$cmd" = help ]; then
    COMPREPLY=( $(compgen -W "${commandNames.join(" ")}" -- "$cur") )
    return
  fi
  # After --, each word is an argument (a session name that starts with -), never an option.
  dashdash=""
  for ((j = i + 1; j < COMP_CWORD; j++)); do
    [ "\${COMP_WORDS[j]}" = -- ] && dashdash=1
  done
  opts="" valued="" words=""
  case "$cmd" in
${cases}
  esac
  COMPREPLY=()
  if [ -z "$dashdash" ]; then
    # The value of an option: one of its values, or a file as the shell would complete it.
    case "$cmd $prev" in
${choiceCases}
      *) case " $valued " in *" $prev "*) _sessions_paths -f; return ;; esac ;;
    esac
  fi
  if [ -z "$words" ]; then
    if [ -z "$dashdash" ] && [[ "$cur" == -* ]]; then
      COMPREPLY=( $(compgen -W "$opts ${after.join(" ")}" -- "$cur") )
      # Besides options, only a session name may start with - (offered after --, below).
      case "$cmd" in ${sessionCase}) ;; *) return ;; esac
    fi
    case "$cmd" in
      ${sessionCase}) words=$(${SESSION_NAMES_SH}) ;;
      schema) words=$'${SCHEMA_NAMES.join("\\n")}' ;;
      completion) words=$'${SHELLS.join("\\n")}' ;;
      *) _sessions_paths -f; return ;;
    esac
  fi
  # One word a line (a session name may hold spaces), compared as text and offered quoted: compgen -W
  # would expand a name, and run a $(…) in it. A name on two servers is offered once, and a name that
  # starts with - after -- (else it reads as an option: review H57-7).
  seen=$'\\n'
  while IFS= read -r w; do
    [ -n "$w" ] && [[ "$w" == "$cur"* ]] || continue
    [[ "$seen" == *$'\\n'"$w"$'\\n'* ]] && continue
    seen+="$w"$'\\n'
    if [[ "$w" == -* && -z "$dashdash" ]]; then
      COMPREPLY+=("-- $(printf '%q' "$w")")
    else
      COMPREPLY+=("$(printf '%q' "$w")")
    fi
  done <<< "$words"
}
complete -F _sessions_complete sessions
`;
}

function fishScript(program: Command, cmds: Spec[]): string {
  const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const opt = (o: { short?: string | undefined; long?: string | undefined }) =>
    `${o.long ? ` -l ${o.long.slice(2)}` : ""}${o.short ? ` -s ${o.short.slice(1)}` : ""}`;
  const lines = ["complete -c sessions -f"];
  // -V/--version only before a command (after one it is refused: review H57-7); -h/--help everywhere.
  for (const o of program.options) {
    const first = flags(o).some((f) => BEFORE_COMMAND_ONLY.includes(f));
    lines.push(`complete -c sessions${first ? " -n __fish_use_subcommand" : ""}${opt(o)}`);
  }
  lines.push(`complete -c sessions${opt({ short: "-h", long: "--help" })} -d ${quote("display help")}`);
  lines.push(`complete -c sessions -n __fish_use_subcommand -a help -d ${quote("display help for command")}`);
  const commandNames = cmds.flatMap((c) => [c.name, ...c.aliases]).join(" ");
  lines.push(
    `complete -c sessions -n ${quote("__fish_seen_subcommand_from help")} -a ${quote(commandNames)}`,
  );
  // A name JSON had to escape (a quote, a backslash, a control character: its line holds a backslash, \x5c)
  // is left out rather than offered escaped, as in bash (review H66-6: fish offered q'\"x for q'"x).
  const names = `sessions ls --json 2>/dev/null | string match -rv '\\x5c' | string replace -rf '^\\s*"session": "(.*)",?$' '$1' | sort -u`;
  for (const c of cmds) {
    const all = [c.name, ...c.aliases].join(" ");
    lines.push(`complete -c sessions -n __fish_use_subcommand -a ${c.name} -d ${quote(c.description)}`);
    for (const a of c.aliases)
      lines.push(`complete -c sessions -n __fish_use_subcommand -a ${a} -d ${quote(`alias of ${c.name}`)}`);
    const seen = quote(`__fish_seen_subcommand_from ${all}`);
    // Short flags too (-m, -k, …), each with its long one; a value of fixed choices completes to them.
    for (const o of c.each.filter((x) => x.long !== "--help"))
      lines.push(
        `complete -c sessions -n ${seen}${opt(o)}${o.values ? ` -r -f -a ${quote(o.values.join(" "))}` : o.valued ? " -r -F" : ""}`,
      );
    if (SESSION_ARG.includes(c.name)) {
      // A name that starts with - is offered once -- is there (before it, it reads as an option); whole: a
      // regex match prints only what matched (review H66-6: '^-' offered just "-").
      lines.push(`complete -c sessions -n ${seen} -a ${quote(`(${names} | string match -rv '^-')`)}`);
      lines.push(
        `complete -c sessions -n ${quote(`__fish_seen_subcommand_from ${all}; and contains -- -- (commandline -opc)`)} -a ${quote(`(${names} | string match -r '^-.*')`)}`,
      );
    } else if (c.name === "schema")
      lines.push(`complete -c sessions -n ${seen} -a ${quote(SCHEMA_NAMES.join(" "))}`);
    else if (c.name === "completion")
      lines.push(`complete -c sessions -n ${seen} -a ${quote(SHELLS.join(" "))}`);
    else lines.push(`complete -c sessions -n ${seen} -F`);
  }
  return `${lines.join("\n")}\n`;
}

/** `sessions completion bash|zsh|fish`: a completion script generated from the command tree. */
export function completionScript(program: Command, shell: string): string {
  const cmds = specs(program);
  if (shell === "bash") return bashScript(program, cmds);
  if (shell === "zsh")
    return `# zsh: load bash completion support first\nautoload -U +X bashcompinit && bashcompinit\n${bashScript(program, cmds)}`;
  if (shell === "fish") return fishScript(program, cmds);
  throw new McError("USAGE", `no completion for "${shell}"`, {
    backend: "cli",
    hint: "use bash, zsh or fish",
  });
}
