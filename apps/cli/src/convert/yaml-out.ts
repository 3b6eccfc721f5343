import { stringify } from "yaml";

/**
 * YAML that PyYAML (tmuxp) and Ruby's Psych (tmuxinator) read back as exactly these strings: written as
 * YAML 1.1, so `yes`, `on`, `0755`, `12:30` and the like are quoted, never folded.
 */
export function yamlText(value: unknown, header: string): string {
  const body = stringify(value, {
    version: "1.1",
    lineWidth: 0,
    minContentWidth: 0,
    aliasDuplicateObjects: false,
  });
  return `${header
    .split("\n")
    .map((l) => `# ${l}`)
    .join("\n")}\n${body}`;
}
