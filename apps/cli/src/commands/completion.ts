import { McError } from "@mc/core";
import type { Command } from "commander";

interface Spec {
  name: string;
  aliases: string[];
  description: string;
  options: string[];
  /** Options that take a value: the word after one is a file or a value, never a session name. */
  valued: string[];
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

function specs(program: Command): Spec[] {
  // A hidden option is one kept only to refuse it with a hint (attach -k): never offered.
  return program.commands.map((c) => {
    const shown = c.options.filter((o) => !o.hidden);
    return {
      name: c.name(),
      aliases: c.aliases(),
      description: c.description(),
      options: shown.flatMap(flags),
      valued: shown.filter((o) => o.required || o.optional).flatMap(flags),
    };
  });
}

/**
 * The names of the sessions mc manages, one a line, from `sessions ls --json` (its "session" fields); a
 * name JSON had to escape (a quote, a backslash, a control character) is left out rather than shown wrong.
 */
const SESSION_NAMES_SH = `"\${COMP_WORDS[0]}" ls --json 2>/dev/null | grep -v '\\\\' | sed -n 's/^ *"session": "\\(.*\\)",\\{0,1\\}$/\\1/p'`;

function bashScript(program: Command, cmds: Spec[]): string {
  const global = program.options.flatMap(flags);
  const names = cmds.flatMap((c) => [c.name, ...c.aliases]).join(" ");
  const pattern = (c: Spec) => [c.name, ...c.aliases].join("|");
  const cases = cmds
    .map((c) => `    ${pattern(c)}) opts="${c.options.join(" ")}" valued="${c.valued.join(" ")}" ;;`)
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
  local cur prev cmd opts valued words i w
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
  opts="" valued=""
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts ${global.join(" ")}" -- "$cur") )
    return
  fi
  # The value of an option: a file, as the shell would complete it.
  case " $valued " in
    *" $prev "*) _sessions_paths -f; return ;;
  esac
  case "$cmd" in
    ${sessionCase}) words=$(${SESSION_NAMES_SH}) ;;
    schema) words=$'${SCHEMA_NAMES.join("\\n")}' ;;
    completion) words=$'${SHELLS.join("\\n")}' ;;
    *) _sessions_paths -f; return ;;
  esac
  # One word a line (a session name may hold spaces), compared as text and offered quoted: compgen -W
  # would expand a name, and run a $(…) in it.
  COMPREPLY=()
  local w
  while IFS= read -r w; do
    [ -n "$w" ] && [[ "$w" == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$w")")
  done <<< "$words"
}
complete -F _sessions_complete sessions
`;
}

function fishScript(program: Command, cmds: Spec[]): string {
  const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const lines = ["complete -c sessions -f"];
  for (const o of program.options)
    if (o.long)
      lines.push(`complete -c sessions -l ${o.long.slice(2)}${o.short ? ` -s ${o.short.slice(1)}` : ""}`);
  for (const c of cmds) {
    const all = [c.name, ...c.aliases].join(" ");
    lines.push(`complete -c sessions -n __fish_use_subcommand -a ${c.name} -d ${quote(c.description)}`);
    for (const a of c.aliases)
      lines.push(`complete -c sessions -n __fish_use_subcommand -a ${a} -d ${quote(`alias of ${c.name}`)}`);
    for (const o of c.options.filter((x) => x.startsWith("--")))
      lines.push(
        `complete -c sessions -n ${quote(`__fish_seen_subcommand_from ${all}`)} -l ${o.slice(2)}${c.valued.includes(o) ? " -r -F" : ""}`,
      );
    const seen = quote(`__fish_seen_subcommand_from ${all}`);
    if (SESSION_ARG.includes(c.name))
      lines.push(
        `complete -c sessions -n ${seen} -a ${quote(`(sessions ls --json 2>/dev/null | string replace -rf '^\\s*"session": "(.*)",?$' '$1')`)}`,
      );
    else if (c.name === "schema")
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
