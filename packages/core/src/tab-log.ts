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

/**
 * A log path opened for reading only when it is a regular file (O_NONBLOCK: a FIFO a tab left in its
 * place would block the open for ever; a directory or device is not a log). Undefined when it is absent
 * or not a regular file.
 */
async function openLog(path: string) {
  const { open } = await import("node:fs/promises");
  const { constants } = await import("node:fs");
  const f = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!f) return undefined;
  const st = await f.stat().catch(() => undefined);
  // The birth time too (where the file system keeps one): a rotated-away file's inode is free for
  // the next new file once `.1` is replaced.
  if (st?.isFile()) return { f, size: st.size, id: `${st.dev}:${st.ino}:${st.birthtimeMs}` };
  await f.close();
  return undefined;
}

/** A log file's text, at most its last {@link LOG_READ_BYTES} on this machine (from a line's start). */
async function readLogFile(host: Host, path: string): Promise<string | undefined> {
  if (host.id !== "local") return host.readFile(path);
  const log = await openLog(path);
  if (!log) return undefined;
  const { f, size } = log;
  try {
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

/** What a follower read: the bytes after `offset`, the log's size and which file it was. */
export interface LogChunk {
  size: number;
  data: Buffer;
  /**
   * The file's identity (device, inode and birth time here; inode and, where stat tells it, birth time
   * elsewhere): a rotation renames the log to `.1` and starts a new file, so a new identity is a rotation
   * whatever the sizes. Undefined when the log is absent, not a regular file, or was replaced while it
   * was read (the data is then empty).
   */
  id?: string;
  /** The file was replaced while it was read (over ssh): nothing was read, ask again. */
  unstable?: boolean;
}

/** Most a follower reads at once (the rest comes with the next read). */
export const LOG_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The part of a log after byte `offset` (for `sessions logs -f`): on this machine straight from the file,
 * elsewhere with one `tail -c` through the host's connection. Only a regular file is read.
 */
export async function readLogFrom(host: Host, path: string, offset: number): Promise<LogChunk> {
  if (host.id === "local") {
    const log = await openLog(path);
    if (!log) return { size: 0, data: Buffer.alloc(0) };
    const { f, size, id } = log;
    try {
      if (size <= offset) return { size, data: Buffer.alloc(0), id };
      const buf = Buffer.alloc(Math.min(size - offset, LOG_CHUNK_BYTES));
      const { bytesRead } = await f.read(buf, 0, buf.length, offset);
      return { size, data: buf.subarray(0, bytesRead), id };
    } finally {
      await f.close();
    }
  }
  // The bytes travel as hex (POSIX od): a command's output arrives as text, and a byte that is not
  // UTF-8 would come back as U+FFFD, three bytes, so the follower's offset would run past the file's size
  // and read it as rotated (the log replayed from its start). The identity is asked before and after the
  // read (a file renamed away meanwhile: `unstable`, asked again): the inode and, where stat tells it, the
  // birth time (GNU, then BSD stat; else POSIX ls -i), since ext4 gives a new file the inode of one just
  // deleted, so after two rotations the third file can have the first one's inode.
  //
  // The file is opened once, read-write (which never waits, where a read-only open of a FIFO swapped in
  // at the path waits for a writer for ever), and everything after reads the opened file through
  // /dev/fd/3: its type, identity, size and bytes are of one file, whatever the path names meanwhile.
  // Where that open fails (no write permission) or there is no /dev/fd, the path is read as before.
  const script = `[ -f "$1" ] || { echo 0; exit 0; }
mc_f=$1
if { command exec 3<>"$1"; } 2>/dev/null && [ -e /dev/fd/3 ]; then mc_f=/dev/fd/3; [ -f "$mc_f" ] || { echo 0; exit 0; }; fi
mc_id() { mc_a=$(stat -L -c '%i %w' -- "$1" 2>/dev/null) || mc_a=$(stat -L -f '%i %B' -- "$1" 2>/dev/null) || { mc_a=$(ls -iL -- "$1" 2>/dev/null) || mc_a=; mc_a=\${mc_a#"\${mc_a%%[! ]*}"}; mc_a=\${mc_a%% *}; }; }
mc_id "$mc_f"; mc_b=$mc_a
wc -c < "$mc_f" 2>/dev/null || echo 0
printf 'id %s\\n' "$mc_b"
tail -c +"$2" -- "$mc_f" 2>/dev/null | head -c ${LOG_CHUNK_BYTES} | od -An -v -tx1
mc_id "$mc_f"; [ "$mc_a" = "$mc_b" ] || echo x`;
  const r = await host.run({ file: "sh", args: ["-c", script, "sh", path, String(offset + 1)] });
  const [sizeLine = "", idLine = ""] = r.stdout.split("\n", 2);
  const size = Number.parseInt(sizeLine.trim(), 10) || 0;
  if (!idLine.startsWith("id ")) return { size, data: Buffer.alloc(0) };
  const body = r.stdout.slice(sizeLine.length + idLine.length + 2);
  // A trailing "x": the file was renamed while it was read (a rotation), so these bytes may be of either.
  if (/x\s*$/.test(body)) return { size: 0, data: Buffer.alloc(0), unstable: true };
  const hex = body.replace(/[^0-9a-fA-F]/g, "");
  const idText = idLine.slice(3).trim();
  const id = /^\d+( .*)?$/.test(idText) ? idText : undefined;
  return { size, data: size <= offset ? Buffer.alloc(0) : Buffer.from(hex, "hex"), ...(id ? { id } : {}) };
}

/**
 * Follows one tab's log (`sessions logs -f`): every byte written after {@link start} is given once, in
 * order, across rotations. A rotation is seen by the file's identity, not its size (a lagging follower
 * met a new file already past its old offset and skipped megabytes unseen); the rest of the old file is
 * then read from `.1` to its end, whole lines at a time. Should the writer rotate twice before the
 * follower has read a file to its end (16 MiB behind), a line says that output may be missing there.
 */
export class LogFollower {
  private offset = 0;
  private id: string | undefined;
  /** Whether the last read stopped at its limit with more to read (read again before waiting). */
  behind = false;

  constructor(
    private readonly host: Host,
    private readonly path: string,
  ) {}

  /** The log's complete lines so far (at most its last {@link LOG_CHUNK_BYTES}); following starts after them. */
  async start(): Promise<string> {
    let c = await readLogFrom(this.host, this.path, 0);
    let base = 0;
    if (c.size > c.data.length && c.id !== undefined) {
      base = c.size - LOG_CHUNK_BYTES;
      const tail = await readLogFrom(this.host, this.path, base);
      if (tail.id === c.id) c = tail;
      else base = 0;
    }
    this.id = c.id;
    const cut = c.data.lastIndexOf(10) + 1;
    let from = 0;
    if (base > 0) from = c.data.indexOf(10) + 1;
    this.offset = base + cut;
    return c.data.subarray(Math.min(from, cut), cut).toString("utf8");
  }

  /** What was written since, as complete lines (and a last partial one when `final`). */
  async next(final: boolean): Promise<string> {
    const parts: string[] = [];
    this.behind = false;
    let lost = false;
    // Each turn reads the current file, then (when it is not this follower's file) `.1`: read in that
    // order, a `.1` that is this follower's file means the current file was its successor when read.
    for (let turn = 0; turn < 16; turn++) {
      const c = await readLogFrom(this.host, this.path, this.offset);
      // Absent, or replaced while it was read: asked again at the next poll.
      if (c.id === undefined && c.size === 0) return parts.join("");
      this.id ??= c.id;
      // A smaller file is a new one too (an inode can be reused once the file that had it is gone).
      const same = (this.id === undefined || c.id === undefined || c.id === this.id) && c.size >= this.offset;
      if (same) {
        const cut = final ? c.data.length : c.data.lastIndexOf(10) + 1;
        parts.push(c.data.subarray(0, cut).toString("utf8"));
        this.offset += cut;
        this.behind = c.data.length === LOG_CHUNK_BYTES;
        return parts.join("");
      }
      const old = await readLogFrom(this.host, `${this.path}.1`, this.offset);
      if (old.unstable) return parts.join("");
      if (this.id === undefined || old.id === this.id) {
        // The rest of this follower's file, rotated away: read to its end (rotation is between lines),
        // then its successor from its start.
        // Before its end, only whole lines (a read of 4 MiB can stop in one; the rest comes next turn).
        const more = this.offset + old.data.length < old.size;
        const cut = more ? old.data.lastIndexOf(10) + 1 : old.data.length;
        if (more && cut === 0) {
          // One line longer than a read: given as it is rather than never.
          parts.push(old.data.toString("utf8"));
          this.offset += old.data.length;
          continue;
        }
        parts.push(old.data.subarray(0, cut).toString("utf8"));
        this.offset += cut;
        if (cut > 0 && this.offset < old.size) continue;
        const text = parts.join("");
        if (text !== "" && !text.endsWith("\n")) parts.push("\n");
        this.id = c.id;
        this.offset = 0;
        continue;
      }
      // This follower's file is gone: the writer rotated twice before it was read to its end.
      if (!lost)
        parts.push("[mc: the log rotated twice before it was read: some output may be missing here]\n");
      lost = true;
      // `.1` is a file not read yet (its successor is the current one): read whole, then on.
      this.id = old.id ?? c.id;
      this.offset = 0;
    }
    this.behind = true;
    return parts.join("");
  }
}
