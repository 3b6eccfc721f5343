import { open, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { McError } from "./errors.js";
import type { LayoutsFile } from "./schema.js";
import { formatIssues, type ParseOptions, parseLayouts, type ValidationResult } from "./validate.js";

/** Largest layouts file mc reads (bytes). */
export const MAX_LAYOUTS_FILE_BYTES = 8 * 1024 * 1024;

/** Read and validate a layouts file from disk. I/O problems come back as issues too. */
export async function loadLayoutsFile(
  path: string,
  opts: ParseOptions = {},
): Promise<ValidationResult<LayoutsFile>> {
  const r = await load(path, opts);
  return r === "missing" ? fileProblem("no such file") : r;
}

const fileProblem = (message: string): ValidationResult<LayoutsFile> => ({
  ok: false,
  issues: [{ path: "", pointer: [], line: 1, column: 1, message }],
});

/** {@link loadLayoutsFile}, with a file that is not there told apart from one that is wrong. */
async function load(path: string, opts: ParseOptions): Promise<ValidationResult<LayoutsFile> | "missing"> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) return fileProblem("is a directory, not a layouts file");
    size = st.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "missing" : fileProblem(`cannot read: ${code ?? String(e)}`);
  }
  if (size > MAX_LAYOUTS_FILE_BYTES) {
    return fileProblem(
      `the file is ${size} bytes; layouts files are limited to ${MAX_LAYOUTS_FILE_BYTES} bytes (a fixed bound: split it into several files)`,
    );
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readBounded(path, MAX_LAYOUTS_FILE_BYTES);
  } catch (e) {
    // Unreadable (permissions, a device that fails): said as the file's problem, never "a bug in mc".
    const err = e as NodeJS.ErrnoException;
    return fileProblem(
      `cannot read it: ${err.code === "EACCES" ? "permission denied" : (err.code ?? err.message)}`,
    );
  }
  if (bytes === undefined) {
    return fileProblem(
      `more than ${MAX_LAYOUTS_FILE_BYTES} bytes came from it; layouts files are limited to that`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const bad = firstBadUtf8Byte(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bad; i++) if (bytes[i] === 10) [line, lineStart] = [line + 1, i + 1];
    return {
      ok: false,
      issues: [
        {
          path: "",
          pointer: [],
          line,
          column: bad - lineStart + 1,
          message: `the file is not valid UTF-8 (bad byte 0x${bytes[bad]?.toString(16)} at offset ${bad})`,
        },
      ],
    };
  }
  return parseLayouts(text, opts);
}

/**
 * The bytes of `path`, or undefined when it gives more than `max`: the size stat reports says nothing
 * about a device, a pipe or a file still growing (`/dev/zero`, `<(yes)`), so the cap is kept while reading.
 */
export async function readBounded(path: string, max: number): Promise<Buffer | undefined> {
  const f = await open(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      const { bytesRead } = await f.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > max) return undefined;
    }
  } finally {
    await f.close();
  }
}

/** Offset of the first byte that breaks UTF-8 (only called when decoding failed). */
function firstBadUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n =
      c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    // After some lead bytes the second byte's range is narrower (RFC 3629 §4): no overlong forms, no
    // surrogates (ED A0–BF), nothing past U+10FFFF.
    const [lo, hi] =
      c === 0xe0
        ? [0xa0, 0xbf]
        : c === 0xed
          ? [0x80, 0x9f]
          : c === 0xf0
            ? [0x90, 0xbf]
            : c === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf];
    const second = b[i + 1];
    if (n > 0 && (second === undefined || second < lo || second > hi)) return i;
    for (let k = 2; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}

/** Return the value of a valid result, or throw one LAYOUT_INVALID error listing every issue. */
export function unwrapLayouts<T>(result: ValidationResult<T>, source = "<layouts>"): T {
  if (result.ok) return result.value;
  const n = result.issues.length;
  // machineconfig reads a file without checking it: keys it never knew are the usual reason its files
  // are refused here, and --lenient is the way to run them as they are (review H74-1: the hint never said so).
  const unknown = result.issues.some((i) => /^unknown key /.test(i.message));
  const lenientReads = result.issues.some(
    (i) => /^duplicate key /.test(i.message) || /^tabWeight must be a non-negative integer$/.test(i.message),
  );
  throw new McError(
    "LAYOUT_INVALID",
    `${source} has ${n} problem${n === 1 ? "" : "s"}:\n${formatIssues(result.issues, source)}`,
    {
      backend: "core",
      op: "load",
      hint: unknown
        ? "fix the fields above, or pass --lenient to ignore keys mc does not know (as machineconfig does); nothing was started"
        : lenientReads
          ? "fix the fields above, or pass --lenient to read them as machineconfig does; nothing was started"
          : "fix the fields above; nothing was started",
      details: result.issues,
    },
  );
}

/**
 * Load a layouts file and throw LAYOUT_INVALID (with every issue) when it is not valid, or
 * LAYOUT_NOT_FOUND when there is no file at `path`.
 */
export async function readLayoutsFile(path: string, opts: ParseOptions = {}): Promise<LayoutsFile> {
  const r = await load(path, opts);
  if (r === "missing") {
    throw new McError("LAYOUT_NOT_FOUND", `${path}: no such layouts file`, {
      backend: "core",
      op: "load",
      hint: isAbsolute(path)
        ? "check the path; nothing was started"
        : `check the path (relative to the working directory, ${process.cwd()}); nothing was started`,
    });
  }
  return unwrapLayouts(r, path);
}
