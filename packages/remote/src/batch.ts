import { dirname } from "node:path/posix";
import { type Command, McError, type ProcessNode, PS_TABLE_SCRIPT, shQuote } from "@mc/core";
import { INFO_SCRIPT } from "./parse.js";

/**
 * One host operation inside a batch. A batch is one POSIX sh script sent over one ssh invocation on the
 * script's stdin (`exec /bin/sh -s`); each operation's result comes back in its own frame.
 */
export type Op =
  | { kind: "run"; cmd: Command }
  | { kind: "readFile"; path: string }
  | { kind: "readDir"; dir: string }
  | { kind: "writeFile"; path: string; data: string; mode: number; tmp: string }
  | { kind: "stat"; path: string }
  | { kind: "remove"; path: string }
  | { kind: "which"; file: string }
  | { kind: "info"; stateDir?: string | undefined }
  | { kind: "ps" };

/** Status an operation reports when its path does not exist (readFile, readDir). */
export const ABSENT = 3;

/** One operation's result as framed by the remote script. */
export interface Frame {
  index: number;
  /** Exit status of the operation (for `run`, of the command). */
  status: number;
  out: Buffer;
  err: Buffer;
  /** `nf` when a `run` found no such executable. */
  flags: string;
  /** Set by the Windows path, which decodes its results itself. */
  kind?: "win";
  files?: Map<string, string>;
  table?: ProcessNode[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuse an environment variable name that is not a shell identifier (it would be shell syntax). */
export function checkEnvName(name: string): void {
  if (!ENV_NAME.test(name)) {
    throw new McError("USAGE", `environment variable name ${JSON.stringify(name)} is not valid`, {
      backend: "remote",
      op: "run",
      hint: "names are letters, digits and _, not starting with a digit",
    });
  }
}

/** `export A='x' B='y'` lines for `env`, or nothing. */
export function exportLines(env: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(env ?? {});
  for (const [k] of entries) checkEnvName(k);
  return entries.map(([k, v]) => `export ${k}=${shQuote(v)}\n`).join("");
}

function checkNoNul(s: string, what: string): void {
  if (s.includes("\0")) {
    throw new McError("USAGE", `${what} holds a NUL character, which a remote shell cannot carry`, {
      backend: "remote",
    });
  }
}

/** A path as an operand that can never be read as an option (every tool here also gets `--`). */
function p(path: string): string {
  checkNoNul(path, "a path");
  if (path === "") throw new McError("USAGE", "empty path", { backend: "remote" });
  return shQuote(path);
}

/**
 * `data` as a printf format that prints exactly `data` (callers put `%s` and an empty argument first, so a
 * leading `-` is never an option): `%` and `\\` doubled, NUL as the octal escape
 * POSIX printf reads in a format (a NUL cannot be in a shell word). printf is a builtin: no size limit.
 */
export function printfFormat(data: string): string {
  return data.replace(/[%\\\0]/g, (c) => (c === "%" ? "%%" : c === "\\" ? "\\\\" : "\\000"));
}

/**
 * The sh text of one command: its own subshell, cwd and environment, stdin from `input` or /dev/null.
 * The executable is looked up first so a missing one is told apart from a command that exits 127.
 */
export function runText(cmd: Command): string {
  if (cmd.file === "" || cmd.file.startsWith("-")) {
    throw new McError("USAGE", `executable name ${JSON.stringify(cmd.file)} is not valid`, {
      backend: "remote",
      op: "run",
    });
  }
  for (const a of [cmd.file, ...cmd.args]) checkNoNul(a, "a command argument");
  const body = [
    cmd.cwd === undefined ? "" : `cd -- ${p(cmd.cwd)} || exit 126\n`,
    exportLines(cmd.env),
    `command -v ${shQuote(cmd.file)} >/dev/null 2>&1 || { : >"$mc_d/nf"; exit 127; }\n`,
    `exec ${[cmd.file, ...cmd.args].map(shQuote).join(" ")}\n`,
  ].join("");
  if (cmd.input === undefined) return `(\n${body}) </dev/null`;
  checkNoNul(cmd.input, "command input");
  return `printf %s ${shQuote(cmd.input)} | (\n${body})`;
}

/**
 * Print the regular file $ARGV[0]: opened read-only and non-blocking (a FIFO never waits, nothing is
 * created), checked on the opened file, then copied. Exit ${ABSENT} when it is gone or not a regular file.
 */
const READ_REGULAR_PL = `use Fcntl;
sysopen(my $f, $ARGV[0], O_RDONLY | O_NONBLOCK) or do { exit ${ABSENT} if $!{ENOENT}; print STDERR "$ARGV[0]: $!\\n"; exit 1 };
exit ${ABSENT} unless -f $f;
binmode $f; binmode STDOUT;
while (1) { my $n = sysread($f, my $b, 65536); defined $n or do { print STDERR "$ARGV[0]: $!\\n"; exit 1 }; last if !$n; print $b }
exit 0;`;

function opText(op: Op): string {
  switch (op.kind) {
    case "run":
      return `${runText(op.cmd)} >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; [ -e "$mc_d/nf" ] && { mc_f=nf; rm -f "$mc_d/nf"; }`;
    case "readFile":
      // Only a regular file is read: a FIFO or a device would block the whole batch. The file is opened
      // once and the opened file is checked and read, so a FIFO swapped in after the check is never waited
      // on: with perl, read-only and non-blocking (nothing is ever created); without it, read-write through
      // /dev/fd/3 (which creates an empty file should the path vanish in that instant, review H24-5), and
      // without write permission or /dev/fd, by path.
      return `if [ -f ${p(op.path)} ]; then ( mc_rf=${p(op.path)}
  command -v perl >/dev/null 2>&1 && exec perl -e ${shQuote(READ_REGULAR_PL)} -- "$mc_rf"
  if { command exec 3<>"$mc_rf"; } 2>/dev/null && [ -e /dev/fd/3 ]; then mc_rf=/dev/fd/3; [ -f "$mc_rf" ] || exit ${ABSENT}; fi
  exec cat -- "$mc_rf" ) >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; else mc_s=${ABSENT}; fi`;
    case "readDir":
      // One tar process for the whole directory when tar is there (a status poll reads a run directory
      // every time; five subprocesses per file made a 30-tab poll cost ~120 ms per host). tar's exit 1
      // ("file changed as we read it": a tab record renamed over mid-read) still gives a whole archive.
      // Without tar, each file is copied once and sized from the copy, so a record replaced between
      // sizing and reading cannot break the framing.
      return `if [ -d ${p(op.dir)} ] && command -v tar >/dev/null 2>&1; then
  ( cd -- ${p(op.dir)} || exit 1
  for mc_n in * .[!.]* ..?*; do [ -f "$mc_n" ] && printf '%s\\0' "./$mc_n"; done | tar -c -f - --null -T - ) >"$mc_d/o" 2>"$mc_d/e"
  mc_s=$?; [ "$mc_s" = 1 ] && mc_s=0; mc_f=tar
elif [ -d ${p(op.dir)} ]; then
  ( cd -- ${p(op.dir)} || exit 1
  for mc_n in * .[!.]* ..?*; do
    [ -f "$mc_n" ] || continue
    cat -- "./$mc_n" >"$mc_d/f" 2>/dev/null || continue
    printf '%s %s\\n%s' "$(printf %s "$mc_n" | wc -c | tr -d ' ')" "$(wc -c <"$mc_d/f" | tr -d ' ')" "$mc_n" >>"$mc_d/o"
    cat "$mc_d/f" >>"$mc_d/o"
  done ) 2>"$mc_d/e"; mc_s=$?
elif [ -e ${p(op.dir)} ]; then mc_s=1; echo "not a directory" >"$mc_d/e"; else mc_s=${ABSENT}; fi`;
    case "writeFile": {
      const mode = (op.mode & 0o7777).toString(8).padStart(4, "0");
      // umask 077 in a subshell: new parent directories are 0700 and the temp file is never readable by
      // others, while the commands of the same batch keep the user's umask.
      return `( umask 077; mkdir -p -- ${p(dirname(op.path))} && printf ${shQuote(`%s${printfFormat(op.data)}`)} "" >${p(op.tmp)} && chmod -- ${mode} ${p(op.tmp)} && mv -f -- ${p(op.tmp)} ${p(op.path)} ) >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; [ "$mc_s" = 0 ] || rm -f -- ${p(op.tmp)}`;
    }
    case "stat":
      return `if [ -d ${p(op.path)} ]; then echo dir; elif [ -e ${p(op.path)} ] || [ -L ${p(op.path)} ]; then echo file; fi >"$mc_d/o"; mc_s=0`;
    case "remove":
      if (op.path === "/" || op.path.replace(/\/+$/, "") === "") {
        throw new McError("USAGE", `refusing to remove ${JSON.stringify(op.path)}`, {
          backend: "remote",
          op: "remove",
        });
      }
      // Retried once: a tab wrapper hung up by a kill may still be writing its last record there.
      return `rm -rf -- ${p(op.path)} >"$mc_d/o" 2>"$mc_d/e" || { sleep 1; rm -rf -- ${p(op.path)} >"$mc_d/o" 2>"$mc_d/e"; }; mc_s=$?`;
    case "which": {
      checkNoNul(op.file, "an executable name");
      const f = shQuote(op.file);
      return op.file.includes("/")
        ? `mc_s=1; if [ -f ${f} ] && [ -x ${f} ]; then printf '%s\\n' ${f} >"$mc_d/o"; mc_s=0; fi`
        : `mc_s=1; mc_ifs=$IFS; IFS=:; for mc_p in $PATH; do [ -n "$mc_p" ] || continue; if [ -f "$mc_p"/${f} ] && [ -x "$mc_p"/${f} ]; then printf '%s\\n' "$mc_p"/${f} >"$mc_d/o"; mc_s=0; break; fi; done; IFS=$mc_ifs`;
    }
    case "info":
      // A state directory given to the host is the one whose owner is checked (MC_STATE_DIR in the subshell).
      return `( ${op.stateDir === undefined ? "" : `MC_STATE_DIR=${p(op.stateDir)}\n`}${INFO_SCRIPT}
) >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?`;
    case "ps":
      // core's PS_TABLE_SCRIPT: the remote clock first, to turn etime into a start time in that clock.
      return `( ${PS_TABLE_SCRIPT} ) >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?`;
  }
}

/** Exit status of a batch that found no usable temp directory; its stderr says why for each one tried. */
export const NO_TEMP_DIR = 70;

/**
 * The batch's private temp directory, in `$TMPDIR`, else /tmp, else /var/tmp: the first where a directory
 * can be made and a byte written (a full TMPDIR passes mkdir on tmpfs and fails on the first write). It is
 * removed on every way out: the end, an error, a hang-up, a TERM, and a dropped connection (the next write
 * to the closed pipe raises SIGPIPE, trapped so the EXIT trap still runs).
 */
export const TEMP_DIR_SCRIPT = `mc_d= mc_why=
for mc_t in "\${TMPDIR:-/tmp}" /tmp /var/tmp; do
  if mc_x=$( (umask 077; mktemp -d "$mc_t/mc-ssh.XXXXXX") 2>&1 ); then
    if { printf x >"$mc_x/p"; } 2>/dev/null; then mc_d=$mc_x; break; fi
    mc_y=$( { printf x >"$mc_x/p"; } 2>&1 ); rm -rf -- "$mc_x"; mc_x=\${mc_y:-cannot write there}
  fi
  mc_why="$mc_why $mc_t: $(printf %s "$mc_x" | tr '\\n' ' ');"
done
[ -n "$mc_d" ] || { printf 'mc: no usable temp directory:%s\\n' "$mc_why" >&2; exit ${NO_TEMP_DIR}; }
trap 'rm -rf -- "$mc_d"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
trap 'exit 141' PIPE`;

/**
 * The script of one batch. It makes a private temp directory, exports the host's environment, runs the
 * operations in order (each with stdout/stderr captured to files) and after each one writes a frame:
 * `\n<boundary> <index> <status> <outBytes> <errBytes> <flags>\n<out><err>`, then `\n<boundary> end\n`.
 * Lengths are in bytes, so any output, including the boundary itself, is carried exactly.
 */
export function batchScript(
  ops: readonly Op[],
  boundary: string,
  env: Readonly<Record<string, string>> = {},
  expect?: { id: string; uid: string },
): string {
  const lines = [
    // First, before anything that could take long: the login reached mc's script (see spawnSsh's `up`).
    `printf '%s\\n' ${boundary}-up`,
    ...(expect ? [machineGuard(boundary, expect)] : []),
    TEMP_DIR_SCRIPT,
    exportLines(env).trimEnd(),
    `mc_emit() { printf '\\n%s %s %s %s %s %s\\n' ${boundary} "$1" "$mc_s" "$(wc -c <"$mc_d/o" | tr -d ' ')" "$(wc -c <"$mc_d/e" | tr -d ' ')" "$mc_f"; cat "$mc_d/o" "$mc_d/e"; }`,
  ];
  for (const [i, op] of ops.entries()) {
    lines.push(`: >"$mc_d/o"; : >"$mc_d/e"; mc_f=-; mc_s=0`, opText(op), `mc_emit ${i}`);
  }
  lines.push(`printf '\\n%s end\\n' ${boundary}`);
  return `${lines.filter(Boolean).join("\n")}\n`;
}

/**
 * The first line of a batch for a saved run's machine: the machine id (as the info operation reads it,
 * else the host name) and uid must be the run's, else it says `<boundary> wrong-machine <id> <uid>` and
 * runs nothing.
 */
function machineGuard(boundary: string, expect: { id: string; uid: string }): string {
  return [
    "mc_m=$(cat /etc/machine-id 2>/dev/null || sysctl -n kern.hostuuid 2>/dev/null)",
    '[ -n "$mc_m" ] || mc_m=$(hostname 2>/dev/null || uname -n)',
    "mc_u=$(id -u 2>/dev/null)",
    `if [ "$mc_m" != ${shQuote(expect.id)} ] || [ "$mc_u" != ${shQuote(expect.uid)} ]; then printf '\\n%s wrong-machine %s %s\\n' ${boundary} "$mc_m" "$mc_u"; exit 0; fi`,
  ].join("\n");
}

/** What {@link machineGuard} found instead of the run's machine, or undefined. */
export function wrongMachine(stdout: Buffer, boundary: string): { id: string; uid: string } | undefined {
  const m = new RegExp(`\\n${boundary} wrong-machine (.*) (.*)\\n`).exec(stdout.toString("utf8"));
  return m ? { id: m[1]!, uid: m[2]! } : undefined;
}

/**
 * Split a batch's stdout back into frames. Anything before the first frame (a login banner, output of a
 * noisy rc file) is skipped; `complete` is false when the end marker never came (the connection dropped).
 */
export function parseFrames(
  stdout: Buffer,
  boundary: string,
): { frames: Map<number, Frame>; complete: boolean } {
  const frames = new Map<number, Frame>();
  const mark = Buffer.from(`\n${boundary} `);
  let at = 0;
  for (;;) {
    const i = stdout.indexOf(mark, at);
    if (i < 0) return { frames, complete: false };
    const eol = stdout.indexOf(0x0a, i + mark.length);
    if (eol < 0) return { frames, complete: false };
    const header = stdout
      .subarray(i + mark.length, eol)
      .toString("utf8")
      .split(" ");
    if (header[0] === "end") return { frames, complete: true };
    const [index, status, outLen, errLen, flags] = header.map((h) => h.trim());
    const o = Number(outLen);
    const e = Number(errLen);
    if (!Number.isInteger(o) || !Number.isInteger(e) || eol + 1 + o + e > stdout.length) {
      return { frames, complete: false };
    }
    const start = eol + 1;
    frames.set(Number(index), {
      index: Number(index),
      status: Number(status),
      out: stdout.subarray(start, start + o),
      err: stdout.subarray(start + o, start + o + e),
      flags: flags ?? "-",
    });
    at = start + o + e;
  }
}
