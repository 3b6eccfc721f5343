/**
 * Expand a leading `~`, `~/…`, `$HOME` or `${HOME}` in a tab's startDir. Only the start of the path is
 * touched: `git log HEAD~1` elsewhere in a layout is never rewritten (machineconfig's global replace did).
 * `~user` and `$HOMEDIR` are left as they are.
 */
export function normaliseStartDir(dir: string, home: string): string {
  const m = /^(~|\$HOME|\$\{HOME\})(?=$|[/\\])/.exec(dir);
  if (!m) return dir;
  const rest = dir.slice(m[0].length);
  if (rest === "" || rest === "/" || rest === "\\") return home;
  return home.replace(/[/\\]+$/, "") + rest;
}
