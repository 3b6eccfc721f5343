import { McError } from "@mc/core";
import type { Command } from "commander";

interface Spec {
  name: string;
  options: string[];
}

function specs(program: Command): Spec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    options: c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => Boolean(x))),
  }));
}

/** `sessions completion bash|zsh|fish`: a completion script generated from the command tree. */
export function completionScript(program: Command, shell: string): string {
  const cmds = specs(program);
  const names = cmds.map((c) => c.name).join(" ");
  if (shell === "bash" || shell === "zsh") {
    const cases = cmds.map((c) => `    ${c.name}) opts="${c.options.join(" ")}" ;;`).join("\n");
    const body = `_sessions_complete() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names} --help --version" -- "$cur") )
    return
  fi
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts --help" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _sessions_complete sessions
`;
    return shell === "zsh"
      ? `# zsh: load bash completion support first\nautoload -U +X bashcompinit && bashcompinit\n${body}`
      : body;
  }
  if (shell === "fish") {
    const lines = [
      "complete -c sessions -f",
      `complete -c sessions -n "__fish_use_subcommand" -a "${names}"`,
    ];
    for (const c of cmds) {
      const desc =
        program.commands
          .find((x) => x.name() === c.name)
          ?.description()
          .replace(/"/g, "'") ?? "";
      lines.push(`complete -c sessions -n "__fish_use_subcommand" -a ${c.name} -d "${desc}"`);
      for (const o of c.options.filter((x) => x.startsWith("--"))) {
        lines.push(`complete -c sessions -n "__fish_seen_subcommand_from ${c.name}" -l ${o.slice(2)}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
  throw new McError("USAGE", `no completion for "${shell}"`, {
    backend: "cli",
    hint: "use bash, zsh or fish",
  });
}
