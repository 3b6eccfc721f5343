import { dirname } from "node:path/posix";
import { type Command, McError, type ProcessNode, shQuote } from "@mc/core";

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
  | { kind: "info" }
  | { kind: "ps" }
  | { kind: "lock"; dir: string; owner: string }
  | { kind: "unlock"; dir: string; owner: string };

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

function opText(op: Op): string {
  switch (op.kind) {
    case "run":
      return `${runText(op.cmd)} >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; [ -e "$mc_d/nf" ] && { mc_f=nf; rm -f "$mc_d/nf"; }`;
    case "readFile":
      return `if [ -e ${p(op.path)} ]; then cat -- ${p(op.path)} >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; else mc_s=${ABSENT}; fi`;
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
      checkNoNul(op.data, "file content");
      const mode = (op.mode & 0o7777).toString(8).padStart(4, "0");
      return `{ mkdir -p -- ${p(dirname(op.path))} && printf %s ${shQuote(op.data)} >${p(op.tmp)} && chmod -- ${mode} ${p(op.tmp)} && mv -f -- ${p(op.tmp)} ${p(op.path)}; } >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?; [ "$mc_s" = 0 ] || rm -f -- ${p(op.tmp)}`;
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
      // One value per line: platform, home, state dir ($MC_STATE_DIR, else $XDG_STATE_HOME/mc, else ~/.local/state/mc), shell.
      return `{ uname -s; printf '%s\\n' "$HOME" "\${MC_STATE_DIR:-\${XDG_STATE_HOME:-$HOME/.local/state}/mc}" "\${SHELL:-}"; } >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?`;
    case "ps":
      // POSIX ps fields (pid ppid pcpu etime args) plus rss, which procps and BSD ps both have; -ww for
      // full command lines on both. The first line is the remote clock, to turn etime into a start time.
      return `{ date +%s; ps -A -ww -o pid= -o ppid= -o pcpu= -o rss= -o etime= -o args=; } >"$mc_d/o" 2>"$mc_d/e"; mc_s=$?`;
    case "lock":
      return `mkdir -p -- ${p(dirname(op.dir))} 2>"$mc_d/e"; if mkdir -- ${p(op.dir)} 2>"$mc_d/e"; then printf '%s\\n' ${shQuote(op.owner)} >${p(`${op.dir}/owner`)}; echo got >"$mc_d/o"; mc_s=0; elif [ -d ${p(op.dir)} ]; then { echo held; date +%s; cat -- ${p(`${op.dir}/owner`)} 2>/dev/null; } >"$mc_d/o"; mc_s=0; else mc_s=1; fi`;
    case "unlock":
      return `if [ "$(cat -- ${p(`${op.dir}/owner`)} 2>/dev/null)" = ${shQuote(op.owner)} ]; then rm -rf -- ${p(op.dir)}; fi; mc_s=0`;
  }
}

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
): string {
  const lines = [
    "mc_d=$( (umask 077; mktemp -d \"${TMPDIR:-/tmp}/mc-ssh.XXXXXX\") 2>/dev/null) || { echo 'mc: cannot create a temp directory' >&2; exit 70; }",
    "trap 'rm -rf \"$mc_d\"' EXIT",
    "trap 'exit 129' HUP",
    "trap 'exit 143' TERM",
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

/** A C string field of a tar header. */
function field(h: Buffer, at: number, len: number): string {
  const f = h.subarray(at, at + len);
  const end = f.indexOf(0);
  return f.subarray(0, end < 0 ? len : end).toString("utf8");
}

/**
 * Regular files of a tar archive (ustar, with GNU `L` long names and pax `path=` records, which GNU tar
 * and bsdtar write for names over 100 bytes), by name without the leading `./`.
 */
export function parseTar(buf: Buffer): Map<string, string> {
  const files = new Map<string, string>();
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = Number.parseInt(field(h, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(h[156] ?? 0);
    const data = buf.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      // pax records: "<len> key=value\n"; only the path matters here.
      const text = data.toString("utf8");
      for (let i = 0; i < text.length; ) {
        const sp = text.indexOf(" ", i);
        const len = Number(text.slice(i, sp));
        if (!(len > 0)) break;
        const rec = text.slice(sp + 1, i + len - 1);
        if (rec.startsWith("path=")) longName = rec.slice(5);
        i += len;
      }
      continue;
    }
    if (type === "g") continue;
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    if (type === "0" || type === "\0") files.set(name.replace(/^\.\//, ""), data.toString("utf8"));
  }
  return files;
}

/** Entries of a readDir frame: `<nameBytes> <contentBytes>\n<name><content>` repeated. */
export function parseDirListing(out: Buffer, flags = "-"): Map<string, string> {
  if (flags === "tar") return parseTar(out);
  const files = new Map<string, string>();
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const [n, c] = out.subarray(at, eol).toString("utf8").split(" ").map(Number);
    if (!Number.isInteger(n) || !Number.isInteger(c)) break;
    const name = out.subarray(eol + 1, eol + 1 + n!).toString("utf8");
    files.set(name, out.subarray(eol + 1 + n!, eol + 1 + n! + c!).toString("utf8"));
    at = eol + 1 + n! + c!;
  }
  return files;
}
