import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Fixture folder of the recorded zellij versions. */
export const FIXTURES = join(import.meta.dirname, "fixtures");

/** Versions with fixtures that mc supports (0.40.0+), oldest first. */
export const VERSIONS = readdirSync(FIXTURES)
  .filter((d) => d.startsWith("zellij-"))
  .map((d) => d.slice("zellij-".length))
  .filter((v) => v !== "0.39.2")
  .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));

/** Versions recorded from a real binary (`recorded/`, by record-fixtures.test.ts). */
export const RECORDED_VERSIONS = VERSIONS.filter((v) =>
  existsSync(join(FIXTURES, `zellij-${v}`, "recorded.json")),
);

/** Versions whose fixtures were rendered from zellij's source (no binary could be built for them). */
export const SOURCE_VERSIONS = VERSIONS.filter((v) => !RECORDED_VERSIONS.includes(v));

/** A fixture file of one version, or undefined when that version has none. */
export function fixture(version: string, name: string): string | undefined {
  try {
    return readFileSync(join(FIXTURES, `zellij-${version}`, name), "utf8");
  } catch {
    return undefined;
  }
}

interface Message {
  stream: "stdout" | "stderr";
  text: string;
  exit: number;
}

/** What the real zellij printed for one recorded command (`zellij-<version>/recorded/`). */
export interface Recorded {
  stdout: string;
  stderr: string;
  rc: number;
  argv: string[];
  /** The session name the command used. */
  name?: string;
}

/** A recording of `version`, or undefined when that version was not recorded from a real binary. */
export function recorded(version: string, key: string): Recorded | undefined {
  const index = fixture(version, "recorded.json");
  if (!index) return undefined;
  const entry = (JSON.parse(index) as { index: Record<string, { argv: string[]; name?: string }> }).index[
    key
  ];
  if (!entry) throw new Error(`zellij ${version} has no recording "${key}"`);
  const file = (ext: string) => fixture(version, `recorded/${key}.${ext}`)!;
  return { stdout: file("stdout"), stderr: file("stderr"), rc: Number(file("rc")), ...entry };
}

const KEYS = JSON.parse(readFileSync(join(FIXTURES, "message-keys.json"), "utf8")) as Record<string, string>;

/**
 * A message rendered for `name`: replayed from the real binary's recording where the version has one
 * (message-keys.json says which), else from messages.json ({name} is Rust's {:?}, here JSON for plain
 * names).
 */
export function message(version: string, key: string, name = ""): Message {
  const rec = fixture(version, "recorded.json") ? recorded(version, KEYS[key]!) : undefined;
  if (rec) {
    const stream = rec.stdout.trim() !== "" ? "stdout" : "stderr";
    let text = rec[stream].replace(/\n$/, "");
    if (rec.name)
      text = text.replaceAll(`"${rec.name}"`, JSON.stringify(name)).replaceAll(`'${rec.name}'`, `'${name}'`);
    return { stream, text, exit: rec.rc };
  }
  const all = JSON.parse(fixture(version, "messages.json")!) as Record<string, Message>;
  const m = all[key]!;
  return { ...m, text: m.text.replaceAll("{name}", JSON.stringify(name)).replaceAll("{raw}", name) };
}
