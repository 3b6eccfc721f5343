import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type Host,
  isRecordedProcess,
  type ProcessNode,
  parseTabRecord,
  type TabRecord,
  tabRecordName,
} from "@mc/core";

/** mc's own record of a window it launched (wt cannot list windows: microsoft/terminal#19818). */
export interface RegistryEntry {
  v: 2;
  /** The session name. */
  name: string;
  /** The window name wt knows it by. */
  window: string;
  runId: string;
  runDir: string;
  tabs: number;
  launchedAt: number;
}

/** One live recorded wrapper of a run: its tab, its record and its process tree (root first). */
export interface LiveWrapper {
  index: number;
  record: TabRecord;
  tree: ProcessNode[];
}

/** The recorded wrappers of a run that still run, from the records and the host's process table. */
export async function liveWrappers(host: Host, runDir: string, tabs: number): Promise<LiveWrapper[]> {
  const files = await host.readDir(runDir);
  const records = Array.from({ length: tabs }, (_, i) => parseTabRecord(files.get(tabRecordName(i))));
  // A wrapper whose command ended may still hold its tab open with the kept shell: it counts too.
  const recorded = records.flatMap((r, i) => (r ? [{ r, i }] : []));
  if (recorded.length === 0) return [];
  const trees = await host.processTrees(recorded.map(({ r }) => r.pid));
  return recorded.flatMap(({ r, i }) => {
    const tree = trees.get(r.pid);
    return tree?.[0] && isRecordedProcess(r, tree[0]) ? [{ index: i, record: r, tree }] : [];
  });
}

/** The windows mc launched on a host, one JSON file each under `<stateDir>/wt/windows`. */
export class WindowRegistry {
  constructor(private readonly host: Host) {}

  private async dir(): Promise<string> {
    return join((await this.host.info()).stateDir, "wt", "windows");
  }

  private async path(name: string): Promise<string> {
    return join(await this.dir(), `${createHash("sha256").update(name).digest("hex").slice(0, 32)}.json`);
  }

  /** Record a launch (replacing an earlier entry of the same session name); returns the entry's file. */
  async add(entry: RegistryEntry): Promise<string> {
    const file = await this.path(entry.name);
    await this.host.writeFile(file, `${JSON.stringify(entry)}\n`);
    return file;
  }

  async entries(): Promise<{ entry: RegistryEntry; file: string }[]> {
    const dir = await this.dir();
    const out: { entry: RegistryEntry; file: string }[] = [];
    for (const [file, text] of await this.host.readDir(dir)) {
      const entry = parseEntry(text);
      if (entry) out.push({ entry, file: join(dir, file) });
    }
    return out;
  }

  async byName(name: string): Promise<{ entry: RegistryEntry; file: string } | undefined> {
    const file = await this.path(name);
    const entry = parseEntry(await this.host.readFile(file));
    return entry && entry.name === name ? { entry, file } : undefined;
  }

  live(runDir: string, tabs: number): Promise<LiveWrapper[]> {
    return liveWrappers(this.host, runDir, tabs);
  }
}

function parseEntry(text: string | undefined): RegistryEntry | undefined {
  if (!text) return undefined;
  try {
    const e = JSON.parse(text) as Partial<RegistryEntry>;
    const ok =
      e.v === 2 &&
      typeof e.name === "string" &&
      typeof e.window === "string" &&
      typeof e.runId === "string" &&
      typeof e.runDir === "string" &&
      typeof e.tabs === "number" &&
      typeof e.launchedAt === "number";
    return ok ? (e as RegistryEntry) : undefined;
  } catch {
    return undefined;
  }
}
