import { shQuote } from "./quote.js";

/** Largest a tab's log grows before it rotates (bytes): the current file and one previous are kept. */
export const LOG_CAP_BYTES = 8 * 1024 * 1024;

/** Name of tab `index`'s log in its run directory (`<name>.1` holds the half before it, when rotated). */
export function tabLogName(index: number): string {
  return `tab-${index}.log`;
}

/**
 * A log writer for a pane's output stream (tmux `pipe-pane`): one awk process that appends each line as it
 * comes and, before a line would take the log past `cap` bytes, moves it to `<log>.1` and starts a new
 * one, so the two files never hold more than twice the cap (bar a single longer line) and always the most
 * recent output. A writer started again (a rerun) counts what the log already holds. The path reaches the rename's shell only through
 * the environment (`$MC_LOG`), never as text to parse.
 */
export function logWriterCommand(logPath: string, cap = LOG_CAP_BYTES): string {
  const prog = [
    `BEGIN { f = ENVIRON["MC_LOG"]; n = 0; while ((getline l < f) > 0) n += length(l) + 1; close(f) }`,
    `{ k = length($0) + 1; if (n > 0 && n + k > cap) { close(f); system("mv -f -- \\"$MC_LOG\\" \\"$MC_LOG.1\\""); n = 0 }`,
    `print >> f; fflush(f); n += k }`,
  ].join(" ");
  // mawk (Debian's awk) reads a pipe in whole blocks unless told `-W interactive`; other awks read lines
  // as they come, and some (busybox) refuse -W, hence the probe. tmux runs this with /bin/sh.
  return [
    `MC_LOG=${shQuote(logPath)}; LC_ALL=C; export MC_LOG LC_ALL; set -- -v cap=${cap}`,
    `awk -W interactive 'BEGIN {}' </dev/null >/dev/null 2>&1 && set -- -W interactive "$@"`,
    `exec awk "$@" ${shQuote(prog)}`,
  ].join("; ");
}

/** A log from its two files: the rotated-away `.1` (older) then the current one. */
export function joinLog(current: string | undefined, previous: string | undefined): string {
  return (previous ?? "") + (current ?? "");
}

/** The last `n` lines of a text. */
export function lastLines(text: string, n: number): string {
  if (n <= 0 || text === "") return "";
  const lines = text.replace(/\n$/, "").split("\n");
  return `${lines.slice(-n).join("\n")}\n`;
}
