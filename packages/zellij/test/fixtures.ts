import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Fixture folder of the recorded zellij versions. */
export const FIXTURES = join(import.meta.dirname, "fixtures");

/** Versions with fixtures that mc supports (0.40.0+), oldest first. */
export const VERSIONS = readdirSync(FIXTURES)
  .filter((d) => d.startsWith("zellij-"))
  .map((d) => d.slice("zellij-".length))
  .filter((v) => v !== "0.39.2")
  .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));

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

/** A recorded message rendered for `name` ({name} is Rust's {:?}, here JSON for plain names). */
export function message(version: string, key: string, name = ""): Message {
  const all = JSON.parse(fixture(version, "messages.json")!) as Record<string, Message>;
  const m = all[key]!;
  return { ...m, text: m.text.replaceAll("{name}", JSON.stringify(name)).replaceAll("{raw}", name) };
}
