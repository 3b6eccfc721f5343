/** A C string field of a tar header. */
function field(h: Buffer, at: number, len: number): string {
  const f = h.subarray(at, at + len);
  const end = f.indexOf(0);
  return f.subarray(0, end < 0 ? len : end).toString("utf8");
}

/** The path in pax extended-header records (`<len> key=value\n`), if any. */
function paxPath(data: Buffer): string | undefined {
  const text = data.toString("utf8");
  let path: string | undefined;
  for (let i = 0; i < text.length; ) {
    const sp = text.indexOf(" ", i);
    const len = Number(text.slice(i, sp));
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, i + len - 1);
    if (rec.startsWith("path=")) path = rec.slice(5);
    i += len;
  }
  return path;
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
      longName = paxPath(data) ?? longName;
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

/** Entries of a readDir frame: a tar stream (`flags` = `tar`), else `<nameBytes> <contentBytes>\n<name><content>` repeated. */
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
