import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { McError } from "./errors.js";
import type { Host } from "./host.js";
import { localStateProblem } from "./local-host.js";
import {
  deleteRun,
  listRuns,
  loadRun,
  type ManagedRun,
  type ManagedSession,
  saveRun,
  updateRun,
} from "./run-record.js";

/**
 * Where a manager keeps its run records: `<stateDir>/managers/<kind>/` on the state host (this machine),
 * every change a read-modify-write under the host's lock.
 */
export class RunStore {
  constructor(
    readonly host: Host,
    readonly kind: string,
    /** The state directory was chosen explicitly (a stateHost given): its owner is the caller's business. */
    private readonly explicit = false,
  ) {}

  async stateDir(): Promise<string> {
    return (await this.host.info()).stateDir;
  }

  /**
   * Fail with the state exit code before anything is started or killed when the state directory cannot
   * be written (read-only, full, or owned by another user): a change mc cannot record must not happen.
   */
  async checkWritable(): Promise<void> {
    const dir = await this.stateDir();
    // A run record another user's mc cannot change later (sudo -E) is refused before anything happens.
    const problem = this.host.id === "local" && !this.explicit ? localStateProblem(dir) : undefined;
    if (problem) throw new McError("STATE_IO", problem, { backend: "core", op: "state" });
    const probe = join(dir, `.write-probe-${process.pid}-${randomBytes(3).toString("hex")}`);
    try {
      await this.host.writeFile(probe, "");
      await this.host.remove(probe);
    } catch (e) {
      throw new McError("STATE_IO", `the state directory ${dir} cannot be written: ${(e as Error).message}`, {
        backend: "core",
        op: "state",
        hint: "make it writable (and owned by you: was it created by sudo?), or choose another with --state-dir; nothing was changed",
        cause: e,
      });
    }
  }

  async save(run: ManagedRun): Promise<void> {
    await saveRun(this.host, await this.stateDir(), run);
  }

  async load(id: string): Promise<ManagedRun> {
    return loadRun(this.host, await this.stateDir(), this.kind, id);
  }

  async update(id: string, change: (run: ManagedRun | undefined) => ManagedRun | undefined) {
    return updateRun(this.host, await this.stateDir(), this.kind, id, change);
  }

  async list(): Promise<ManagedRun[]> {
    return (await listRuns(this.host, await this.stateDir(), this.kind)).runs;
  }

  async delete(id: string): Promise<void> {
    await deleteRun(this.host, await this.stateDir(), this.kind, id);
  }

  /** A saved session of run `runId` (the one a restart replaces), with that run id in its data. */
  async session(runId: string, match: (s: ManagedSession) => boolean): Promise<ManagedSession | undefined> {
    const run = await this.load(runId).catch(() => undefined);
    const s = run?.sessions.find(match);
    return s && { ...s, data: { ...s.data, runId } };
  }

  /** Remove sessions from run `runId`'s record (the record goes when it is left empty). */
  async drop(runId: string, hit: (s: ManagedSession) => boolean): Promise<void> {
    await this.update(runId, (run) => {
      const sessions = (run?.sessions ?? []).filter((s) => !hit(s));
      return run && sessions.length ? { ...run, sessions } : undefined;
    });
  }
}
