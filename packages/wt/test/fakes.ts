/**
 * A private fake Windows machine for one test file: fake wt (Windows Terminal), fake pwsh (PowerShell)
 * and fake cmd (test/fake/*.mjs), a private mc state directory and the environment that wires them
 * together. Neither Windows Terminal nor PowerShell runs on Linux; the fakes model the behaviour of the
 * real ones that decides mc's outcome, each from the source line they cite.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, type Host, localHost, pollUntil } from "@mc/core";
import { WTLocalManager, type WTLocalManagerOptions } from "../src/index.js";
import { events, getJson, hex, listWindows, windowTabs } from "./fake/lib.mjs";

export const FAKE_WT = fileURLToPath(new URL("./fake/wt.mjs", import.meta.url));
export const FAKE_PWSH = fileURLToPath(new URL("./fake/pwsh.mjs", import.meta.url));
export const FAKE_CMD = fileURLToPath(new URL("./fake/cmd.mjs", import.meta.url));

/** Options of {@link fakeWindows}. */
export interface FakeWindowsOptions {
  wtVersion?: string;
  pwshVersion?: string;
  /** Lines of the fake $PROFILE (`function conda { }`). */
  profile?: string;
  /** A work directory name with characters that matter to the quoting layers. */
  workDirName?: string;
  /** Put the fake PowerShell on PATH as `pwsh` and `powershell` (a tab's `shell: "pwsh"` finds it). */
  pwshOnPath?: boolean;
}

export type FakeWindows = ReturnType<typeof fakeWindows>;

/** mc's window name is `mc-<run>-<i> <session>`: the session it belongs to. */
export const sessionOfWindow = (w: string) => w.replace(/^mc-[0-9A-Za-z]+-\d+ /, "");

export function fakeWindows(o: FakeWindowsOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), "mc-wt-"));
  const fakeState = join(root, "fake-wt");
  const stateDir = join(root, "state");
  const shells = join(root, "shells");
  const workDir = join(root, o.workDirName ?? "work dir; with ' quote");
  const pwshLog = join(root, "pwsh.log");
  const profile = join(root, "profile.ps1");
  for (const d of [fakeState, stateDir, shells, workDir]) mkdirSync(d, { recursive: true });
  writeFileSync(profile, o.profile ?? "");
  for (const f of [FAKE_WT, FAKE_PWSH, FAKE_CMD]) chmodSync(f, 0o755);
  const bin = join(root, "bin");
  if (o.pwshOnPath) {
    mkdirSync(bin);
    for (const name of ["pwsh", "powershell"]) symlinkSync(FAKE_PWSH, join(bin, name));
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(o.pwshOnPath ? { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` } : {}),
    FAKE_WT_STATE: fakeState,
    FAKE_EXIT_DIR: join(root, "exit-codes"),
    FAKE_PWSH_STATE: shells,
    FAKE_PWSH_LOG: pwshLog,
    FAKE_PWSH_PROFILE: profile,
    ComSpec: FAKE_CMD,
    ...(o.wtVersion ? { FAKE_WT_VERSION: o.wtVersion } : {}),
    ...(o.pwshVersion ? { FAKE_PWSH_VERSION: o.pwshVersion } : {}),
  };
  const host: Host = localHost({ stateDir, env });
  /** Every PowerShell command the managers ran through the host. */
  const pwshRuns: Command[] = [];
  const run = host.run.bind(host);
  host.run = (cmd, opts) => {
    if (cmd.file === FAKE_PWSH) pwshRuns.push(cmd);
    return run(cmd, opts);
  };
  const manager = (opts: WTLocalManagerOptions) =>
    new WTLocalManager({
      host,
      wt: FAKE_WT,
      pwsh: FAKE_PWSH,
      appearTimeoutMs: 10_000,
      launchTimeoutMs: 8_000,
      ...opts,
    });

  /** Every process the fake terminal started: each tab's process group and its conpty host. */
  function killAll() {
    const dir = join(fakeState, "windows");
    if (!existsSync(dir)) return;
    for (const h of readdirSync(dir)) {
      for (const t of windowTabs(fakeState, Buffer.from(h, "hex").toString("utf8"))) {
        for (const pid of [t.pid && -t.pid, t.host].filter(Boolean)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
      }
    }
  }

  return {
    root,
    fakeState,
    stateDir,
    workDir,
    env,
    host,
    pwshRuns,
    manager,
    /** Session names of the windows that are open now (an mc window counts under its session). */
    sessions: () => [...listWindows(fakeState).keys()].map(sessionOfWindow),
    /** Window names that are open now. */
    windows: () => [...listWindows(fakeState).keys()],
    tabs: (window: string) => windowTabs(fakeState, window),
    events: () => events(fakeState),
    workspaces: () => getJson(join(fakeState, "workspaces.json"), {}) as Record<string, unknown>,
    /** The states the interactive shells kept in tabs recorded. */
    // A fake shell may be writing its file right now: a partial one is read again at the next poll.
    shells: () =>
      readdirSync(shells).flatMap((f) => {
        try {
          return [JSON.parse(readFileSync(join(shells, f), "utf8"))];
        } catch {
          return [];
        }
      }),
    /** Every fake pwsh invocation: its argv and whether the profile was loaded. */
    pwshLog: () =>
      existsSync(pwshLog)
        ? readFileSync(pwshLog, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { pid: number; argv: string[]; profile: boolean })
        : [],
    /** Open a window without mc. */
    foreignWindow(name: string, ...command: string[]) {
      execFileSync(
        FAKE_WT,
        [`--window=${name}`, "new-tab", "--", ...(command.length ? command : ["sleep", "30"])],
        { env },
      );
    },
    /** Ctrl+C in a tab: SIGINT to its console's process group. */
    ctrlC(window: string, index = 0) {
      const t = windowTabs(fakeState, window)[index];
      if (!t?.pid) throw new Error(`no tab ${index} in ${window}`);
      // The console's own note that it had a Ctrl+C (see `consoleHadCtrlC` in fake/pwsh.mjs).
      mkdirSync(join(fakeState, "ctrl-c"), { recursive: true });
      writeFileSync(join(fakeState, "ctrl-c", String(t.pid)), "");
      process.kill(-t.pid, "SIGINT");
    },
    /**
     * Hold `file` open the way `[IO.File]::ReadAllText` does (FileShare.Read) for `ms`: meanwhile a wrapper
     * cannot open it to append (the fake pwsh's model of the sharing violation, `<file>.open`).
     */
    async holdOpen(file: string, ms: number) {
      writeFileSync(`${file}.open`, "");
      await new Promise((r) => setTimeout(r, ms));
      rmSync(`${file}.open`, { force: true });
    },
    hexName: hex,
    killAll,
    cleanup() {
      killAll();
      rmSync(root, { recursive: true, force: true });
    },
    /** Poll a status predicate (the manager's report) up to `ms`. */
    async until<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
      return pollUntil(probe, {
        timeoutMs: ms,
        maxDelayMs: 100,
        onTimeout: () => new Error(`timed out after ${ms} ms`),
      });
    },
  };
}
