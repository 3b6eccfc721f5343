/**
 * A fake Windows machine behind the real private sshd on 127.0.0.1: one port per OpenSSH default shell
 * (cmd.exe, Windows PowerShell 5.1, pwsh), each a ForceCommand that models that shell
 * (test/fake/win-shell.mjs), with `powershell`/`pwsh` (test/fake/win-powershell.mjs) and `wt`
 * (test/fake/win-wt.mjs) on its PATH, and @mc/wt's fake Windows Terminal and PowerShell behind those.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SshHostOptions } from "../src/index.js";
import { type PrivateSshd, privateSshd } from "../src/testing.js";

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
// The workspace link to @mc/wt (its package exports no test files; its fakes live beside its tests).
const WT_DIR = realpathSync(here("../node_modules/@mc/wt"));
/** @mc/wt's fakes of Windows Terminal, PowerShell and cmd (its test/fake), which this machine runs. */
export const WT_FAKES = {
  pwsh: join(WT_DIR, "test/fake/pwsh.mjs"),
  wt: join(WT_DIR, "test/fake/wt.mjs"),
  cmd: join(WT_DIR, "test/fake/cmd.mjs"),
};
export const HAVE_WT_FAKES = Object.values(WT_FAKES).every((f) => existsSync(f));
if (!HAVE_WT_FAKES)
  console.warn(
    `[mc remote] @mc/wt's fakes are missing under ${WT_DIR}/test/fake: the fake-Windows suites are skipped`,
  );

export const SHELLS = ["cmd", "powershell", "pwsh"] as const;
export type Shell = (typeof SHELLS)[number];

export interface FakeWindowsMachine {
  root: string;
  sshd: PrivateSshd;
  /** mc's state directory on the machine of one shell (MC_STATE_DIR there). */
  stateDir(shell: Shell): string;
  /** sshHost options for the machine whose default shell is `shell`. */
  options(shell: Shell, extra?: SshHostOptions): SshHostOptions;
  /** Flip a switch of the machine (no-desktop, tasks-denied, profile-output). */
  set(name: string, value?: string): void;
  unset(name: string): void;
  /** What the machine logged: the ssh lines it got, the wt launches, the scheduled tasks. */
  log<T = Record<string, unknown>>(name: "lines" | "wt" | "tasks"): T[];
  clearLogs(): void;
  fakeWtState: string;
  /** End every tab the fake Windows Terminal started (each in its process group) and its console host. */
  killTabs(): void;
  stop(): void;
}

function killTabs(state: string): void {
  const dir = join(state, "windows");
  if (!existsSync(dir)) return;
  for (const w of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, w))) {
      try {
        const t = JSON.parse(readFileSync(join(dir, w, f), "utf8")) as { pid?: number; host?: number };
        for (const pid of [t.pid && -t.pid, t.host].filter(Boolean) as number[]) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
      } catch {}
    }
  }
}

export async function fakeWindowsMachine(): Promise<FakeWindowsMachine> {
  const root = mkdtempSync(join(tmpdir(), "mc-fakewin-"));
  const bin = join(root, "bin");
  const logDir = join(root, "log");
  const controlDir = join(root, "control");
  const fakeWtState = join(root, "fake-wt");
  for (const d of [bin, logDir, controlDir, fakeWtState, join(root, "shells")])
    mkdirSync(d, { recursive: true });
  for (const f of ["win-shell.mjs", "win-powershell.mjs", "win-wt.mjs"]) chmodSync(here(`fake/${f}`), 0o755);
  for (const f of Object.values(WT_FAKES)) chmodSync(f, 0o755);
  symlinkSync(here("fake/win-powershell.mjs"), join(bin, "powershell"));
  symlinkSync(here("fake/win-powershell.mjs"), join(bin, "pwsh"));
  symlinkSync(here("fake/win-wt.mjs"), join(bin, "wt"));
  writeFileSync(join(root, "profile.ps1"), "");
  const common = {
    FAKE_WIN_BIN: bin,
    FAKE_WIN_LOG: logDir,
    FAKE_WIN_CONTROL: controlDir,
    FAKE_WT_PWSH: WT_FAKES.pwsh,
    FAKE_WT_REAL: WT_FAKES.wt,
    FAKE_WT_STATE: fakeWtState,
    FAKE_EXIT_DIR: join(root, "exit-codes"),
    FAKE_PWSH_STATE: join(root, "shells"),
    FAKE_PWSH_LOG: join(root, "pwsh.log"),
    FAKE_PWSH_PROFILE: join(root, "profile.ps1"),
    ComSpec: WT_FAKES.cmd,
  };
  const stateDir = (shell: Shell) => join(root, `state-${shell}`);
  const sshd = await privateSshd(SHELLS.length, {
    portEnv: Object.fromEntries(
      SHELLS.map((shell, i) => [i, { ...common, FAKE_WIN_SHELL: shell, MC_STATE_DIR: stateDir(shell) }]),
    ),
    portConfig: Object.fromEntries(
      SHELLS.map((_, i) => [i, [`ForceCommand ${process.execPath} ${here("fake/win-shell.mjs")}`]]),
    ),
  });
  return {
    root,
    sshd,
    fakeWtState,
    stateDir,
    options: (shell, extra = {}) =>
      sshd.options(sshd.ports[SHELLS.indexOf(shell)]!, { platform: "win32", id: `fake-${shell}`, ...extra }),
    set: (name, value = "") => writeFileSync(join(controlDir, name), value),
    unset: (name) => rmSync(join(controlDir, name), { force: true }),
    log: <T>(name: string) => {
      const f = join(logDir, `${name}.jsonl`);
      return existsSync(f)
        ? readFileSync(f, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as T)
        : [];
    },
    clearLogs() {
      rmSync(logDir, { recursive: true, force: true });
      mkdirSync(logDir);
    },
    killTabs: () => killTabs(fakeWtState),
    stop() {
      killTabs(fakeWtState);
      sshd.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
