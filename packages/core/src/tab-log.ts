import { join } from "node:path";
import type { Host } from "./host.js";
import { shQuote } from "./quote.js";

/** Largest a tab's log grows before it rotates (bytes): the current file and one previous are kept. */
export const LOG_CAP_BYTES = 8 * 1024 * 1024;

/**
 * Path of tab `index`'s log in its run directory (`<name>.1` holds the half before it, when rotated). Logs
 * live in a subdirectory: a status poll reads the run directory's files (tab records) in one go, and must
 * not carry megabytes of output with them.
 */
export function tabLogName(index: number): string {
  return `logs/tab-${index}.log`;
}

/**
 * A log writer for a pane's output stream (tmux `pipe-pane`): one process that appends each line as it
 * comes and, before a line would take the log past `cap` bytes, moves it to `<log>.1` and starts a new
 * one, so the two files never hold more than twice the cap (bar a single longer line) and always the most
 * recent output. A writer started again (a rerun) counts what the log already holds. The path reaches
 * the writer only through the environment (`$MC_LOG`), never as text to parse.
 */
export function logWriterCommand(logPath: string, cap = LOG_CAP_BYTES): string {
  return logWriterScript(shQuote(logPath), cap).join("; ");
}

/**
 * The writer in perl, where the machine has it (Debian and Ubuntu have it always, as perl-base; macOS
 * too): its time is linear in a line's length. mawk, Debian's awk, must be told `-W interactive` to write
 * a line as it comes, and then takes time quadratic in a line's length: a `\r` progress bar of 10 MB (one
 * line to the writer) held it 5 s, a 50 MB one 4 minutes, and output a pane's end cut off before the writer
 * had it was lost. perl also keeps NUL bytes, where awk ends the line at one.
 */
function perlWriter(banner: boolean): string {
  if (!banner)
    // What the pane printed as it comes (a prompt, a `\r` progress bar, a last line without its end),
    // in the chunks the pipe gives: rotated where a line ends (a line longer than the cap first ends).
    return [
      `$f = $ENV{MC_LOG}; $c = $ENV{MC_CAP}; $n = (-s $f) || 0; $e = 1; binmode STDIN;`,
      `sub o { open(O, ">>", $f) || exit 1; binmode O }`,
      `sub w { syswrite(O, $_[0]) // exit 1; $n += length $_[0]; $e = substr($_[0], -1) eq "\\n" }`,
      `sub r { close O; rename $f, "$f.1"; $n = 0; o() }`,
      "o();",
      "while (sysread(STDIN, $b, 65536)) {",
      "  while (length $b) {",
      "    if ($n + length($b) <= $c) { w($b); last }",
      `    $i = $c > $n ? rindex($b, "\\n", $c - $n - 1) : -1;`,
      "    if ($i >= 0) { w(substr($b, 0, $i + 1)); $b = substr($b, $i + 1); r(); next }",
      "    if ($n > 0 && $e) { r(); next }",
      `    $i = index($b, "\\n");`,
      "    if ($i < 0) { w($b); last }",
      "    w(substr($b, 0, $i + 1)); $b = substr($b, $i + 1);",
      "  }",
      "}",
    ].join(" ");
  return [
    `$f = $ENV{MC_LOG}; $c = $ENV{MC_CAP}; $n = (-s $f) || 0; binmode STDIN;`,
    `sub o { open(O, ">>", $f) || exit 1; binmode O; select O; $| = 1 }`,
    `sub w { $k = length $_[0]; if ($n > 0 && $n + $k > $c) { close O; rename $f, "$f.1"; $n = 0; o() } print O $_[0]; $n += $k }`,
    "o();",
    "while (<STDIN>) {",
    // As the awk writer's banner lines, below.
    `  next if $. == 1 && /^Script started on /;`,
    `  if (/^Script done on .*COMMAND_EXIT_CODE="[0-9]+"\\]$/) { $h = 0; next }`,
    `  if ($_ eq "\\n") { w("\\n") if $h; $h = 1; next }`,
    `  if ($h) { w("\\n"); $h = 0 }`,
    "  w($_)",
    "}",
  ].join(" ");
}

/**
 * The lines of {@link logWriterCommand} with the log's path given as a shell word (`"$mc_dir/…"` in the
 * tab wrapper's `log` mode, which tmux's pipe-pane runs so a dry run stays readable).
 */
export function logWriterScript(
  pathWord: string,
  cap = LOG_CAP_BYTES,
  mode: LogWriterMode = "probe",
  o: { scriptBanner?: boolean } = {},
): string[] {
  const write = `function w(l, k) { k = length(l) + 1; if (n > 0 && n + k > cap) { close(f); system("mv -f -- \\"$MC_LOG\\" \\"$MC_LOG.1\\""); n = 0 } print l >> f; fflush(f); n += k }`;
  const prog = [
    write,
    `BEGIN { f = ENVIRON["MC_LOG"]; n = 0; while ((getline l < f) > 0) n += length(l) + 1; close(f) }`,
    // util-linux script(1) frames its typescript with a "Script started" line and, after an empty line
    // of its own (a pty ends its lines with \r), a "Script done" line: the log keeps only the output.
    ...(o.scriptBanner
      ? [
          `NR == 1 && /^Script started on / { next }`,
          `/^Script done on .*COMMAND_EXIT_CODE="[0-9]+"]$/ { held = 0; next }`,
          `$0 == "" { if (held) w(""); held = 1; next }`,
          `held { w(""); held = 0 }`,
        ]
      : []),
    `{ w($0) }`,
  ].join(" ");
  // The program reaches perl through the environment: on its command line it made every `ps` listing a
  // kilobyte per tab longer (a thousand panes' writers overflowed a 1 MiB read of `ps -eo args`).
  const perl = `MC_PL=${shQuote(perlWriter(o.scriptBanner ?? false))}; export MC_PL; exec perl -e 'eval $ENV{MC_PL}; die $@ if $@'`;
  // mawk (Debian's awk) reads a pipe in whole blocks unless told `-W interactive`; other awks read lines
  // as they come, and some (busybox) refuse -W, hence the probe. tmux runs this with /bin/sh.
  return [
    `MC_LOG=${pathWord}; MC_CAP=${cap}; LC_ALL=C; export MC_LOG MC_CAP LC_ALL; set -- ${mode === "interactive" ? "-W interactive " : ""}-v cap=${cap}`,
    // A test first (a builtin): only the first of a session's writers starts a mkdir process. Private,
    // as every directory of the state is (the pane's umask is the tmux server's).
    `[ -d "\${MC_LOG%/*}" ] || mkdir -p -m 700 -- "\${MC_LOG%/*}" 2>/dev/null`,
    // perl when the pane finds it: the machine's answer came from mc's environment, and the tmux server's
    // PATH can differ (then awk, asked whether it takes -W interactive, as without perl).
    ...(mode === "perl" || mode === "probe"
      ? [
          `command -v perl >/dev/null 2>&1 && { ${perl}; }`,
          `awk -W interactive 'BEGIN {}' </dev/null >/dev/null 2>&1 && set -- -W interactive "$@"`,
        ]
      : []),
    `exec awk "$@" ${shQuote(prog)}`,
  ];
}

/**
 * Which program a log writer runs: `perl` (see {@link perlWriter}), else awk, which `interactive` tells
 * `-W interactive` (mawk needs it) and `plain` does not. `probe` asks each time (one more process per
 * pane); the other three are that answer found once per machine ({@link LOG_WRITER_PROBE}).
 */
export type LogWriterMode = "probe" | "perl" | "interactive" | "plain";

/** A command that prints this machine's {@link LogWriterMode} (read it with {@link parseLogWriterProbe}). */
export const LOG_WRITER_PROBE = [
  "/bin/sh",
  "-c",
  "if command -v perl >/dev/null 2>&1 && perl -e 1 2>/dev/null; then echo perl; elif awk -W interactive 'BEGIN {}' </dev/null >/dev/null 2>&1; then echo interactive; else echo plain; fi",
] as const;

/** The mode {@link LOG_WRITER_PROBE} printed ("probe" when it said nothing useful: each writer asks). */
export function parseLogWriterProbe(stdout: string): LogWriterMode {
  const m = stdout.trim();
  return m === "perl" || m === "interactive" || m === "plain" ? m : "probe";
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

/**
 * Most of one log file that is read. The writer rotates at 8 MiB, between lines: only a single line
 * longer than that (a progress bar that only ever prints `\r`, a base64 dump) makes a file grow past it,
 * and reading such a file whole took `sessions logs` past node's heap (a 120 MB line: an abort).
 */
export const LOG_READ_BYTES = 16 * 1024 * 1024;

/** A log file's text, at most its last {@link LOG_READ_BYTES} on this machine (from a line's start). */
async function readLogFile(host: Host, path: string): Promise<string | undefined> {
  if (host.id !== "local") return host.readFile(path);
  const { open } = await import("node:fs/promises");
  const f = await open(path, "r").catch(() => undefined);
  if (!f) return undefined;
  try {
    const { size } = await f.stat();
    const from = Math.max(0, size - LOG_READ_BYTES);
    const buf = Buffer.alloc(size - from);
    const { bytesRead } = await f.read(buf, 0, buf.length, from);
    const text = buf.subarray(0, bytesRead).toString("utf8");
    if (from === 0) return text;
    const nl = text.indexOf("\n");
    const kept = nl < 0 ? text : text.slice(nl + 1);
    return `[mc: the first ${size - Buffer.byteLength(kept)} bytes of ${path} are not shown: a line longer than the log's 8 MiB cap]\n${kept}`;
  } finally {
    await f.close();
  }
}

/** Tab `index`'s whole log (the rotated-away half first) as the host has it; "" when it wrote nothing yet. */
export async function readTabLog(host: Host, runDir: string, index: number): Promise<string> {
  const path = join(runDir, tabLogName(index));
  const [current, previous] = await Promise.all([readLogFile(host, path), readLogFile(host, `${path}.1`)]);
  return joinLog(current, previous);
}

/** What a follower read: the bytes after `offset`, and the log's size when they were read. */
export interface LogChunk {
  size: number;
  data: Buffer;
}

/** Most a follower reads at once (the rest comes with the next read). */
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The part of a log after byte `offset` (for `sessions logs -f`): on this machine straight from the file,
 * elsewhere with one `tail -c` through the host's connection. A size below `offset` means it rotated.
 */
export async function readLogFrom(host: Host, path: string, offset: number): Promise<LogChunk> {
  if (host.id === "local") {
    const { open } = await import("node:fs/promises");
    const f = await open(path, "r").catch(() => undefined);
    if (!f) return { size: 0, data: Buffer.alloc(0) };
    try {
      const { size } = await f.stat();
      if (size <= offset) return { size, data: Buffer.alloc(0) };
      const buf = Buffer.alloc(Math.min(size - offset, CHUNK_BYTES));
      const { bytesRead } = await f.read(buf, 0, buf.length, offset);
      return { size, data: buf.subarray(0, bytesRead) };
    } finally {
      await f.close();
    }
  }
  // The bytes travel as hex (POSIX od): a command's output arrives as text, and a byte that is not
  // UTF-8 would come back as U+FFFD, three bytes, so the follower's offset would run past the file's size
  // and read it as rotated (the log replayed from its start).
  const script = `wc -c < "$1" 2>/dev/null || echo 0; tail -c +"$2" -- "$1" 2>/dev/null | head -c ${CHUNK_BYTES} | od -An -v -tx1`;
  const r = await host.run({ file: "sh", args: ["-c", script, "sh", path, String(offset + 1)] });
  const nl = r.stdout.indexOf("\n");
  const size = Number.parseInt(r.stdout.slice(0, nl), 10) || 0;
  const hex = r.stdout.slice(nl + 1).replace(/[^0-9a-fA-F]/g, "");
  return { size, data: size <= offset ? Buffer.alloc(0) : Buffer.from(hex, "hex") };
}
