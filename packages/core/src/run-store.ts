import { randomBytes } from "node:crypto";
import { rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isMcError, McError } from "./errors.js";
import type { Host } from "./host.js";
import { localStateExposure, localStateProblem } from "./local-host.js";
import {
  deleteRun,
  ENDED_KEEP_MS,
  type EndedSession,
  isOwnRunDir,
  listRuns,
  loadRun,
  type ManagedRun,
  type ManagedSession,
  runsDir,
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
    const local = this.host.id === "local";
    const problem =
      (local && !this.explicit ? localStateProblem(dir) : undefined) ??
      (local ? localStateExposure(dir) : await this.host.stateExposure?.(dir));
    if (problem) throw new McError("STATE_IO", problem, { backend: "core", op: "state" });
    // The top (the lock lives there) and the directory the records are written in: either can be
    // read-only, a file, or a dangling link while the other is fine.
    const tag = `.write-probe-${process.pid}-${randomBytes(3).toString("hex")}`;
    try {
      for (const probe of [join(dir, tag), join(runsDir(dir, this.kind), tag)]) {
        // Not flushed: whether the directory takes a file is the question, not whether it survives a crash.
        // Some bytes, as a record needs: an empty file still fits on a full disk (a free inode is enough).
        await this.host.writeFile(probe, " ".repeat(16 * 1024), { durable: false });
        await this.host.remove(probe);
      }
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

  /**
   * The saved session whose ownership marker is `runId` (the one a restart replaces or a merge extends):
   * in run `runId` itself, or in the run a merge moved it to. Its data carries the marker and `savedIn`.
   * Undefined when no record holds it; a STATE_CORRUPT error when none does but run `runId`'s own record
   * is there and could not be read or is not trusted: the session may be in it (review H65-5: a merge
   * said its record was gone).
   */
  async session(runId: string, match: (s: ManagedSession) => boolean): Promise<ManagedSession | undefined> {
    let unreadable: McError | undefined;
    const own = await this.load(runId).catch((e: unknown) => {
      if (isMcError(e, "STATE_CORRUPT")) unreadable = e;
      return undefined;
    });
    const runs = [...(own ? [own] : []), ...(await this.list()).filter((r) => r.id !== runId)];
    const hits = runs.flatMap((run) => {
      const s = run.sessions.find(
        (x) => ((x.data?.runId as string | undefined) ?? run.id) === runId && match(x),
      );
      return s ? [{ run, s }] : [];
    });
    if (hits.length === 0) {
      if (unreadable) throw unreadable;
      return undefined;
    }
    // A merge killed before it left the record it merged from leaves the session in both: the newer
    // record's copy (recorded later; else the run id, which begins with its time) has the tabs that merge opened. The older one, taken
    // first, made the next merge give those tabs' slots again and drop them from every record (H42-1).
    const later = (a: (typeof hits)[number], b: (typeof hits)[number]) =>
      (b.s.recordedAt ?? 0) - (a.s.recordedAt ?? 0) || b.run.id.localeCompare(a.run.id);
    const { run, s } = hits.reduce((a, b) => (later(a, b) > 0 ? b : a));
    return { ...s, data: { ...s.data, runId, savedIn: run.id } };
  }

  /**
   * Sessions other runs are making as restarts of a session `match` takes (recorded with
   * `starting.replacing` or `starting.replacesFirst`): the one they replace is, or is about to be, killed
   * by them, and marked replaced in its own record once it is.
   */
  async replacementsOf(runId: string, match: (s: ManagedSession) => boolean): Promise<ManagedSession[]> {
    const runs = await this.list();
    return runs
      .filter((r) => r.id !== runId)
      .flatMap((r) => r.sessions)
      .filter((s) => (s.starting?.replacing || s.starting?.replacesFirst) && match(s));
  }

  /** Remove sessions from run `runId`'s record (the record goes when nothing, live or ended, is left). */
  async drop(runId: string, hit: (s: ManagedSession) => boolean): Promise<void> {
    await this.update(runId, (run) => {
      const sessions = (run?.sessions ?? []).filter((s) => !hit(s));
      return run && (sessions.length || run.ended?.length) ? { ...run, sessions } : undefined;
    });
  }

  /**
   * Move sessions of run `runId` to its ended list (their files stay: logs outlive the session), ended
   * now or at `endedAt` where it is known to have ended before.
   */
  async retire(
    runId: string,
    hit: (s: ManagedSession) => boolean,
    endedBy: EndedSession["endedBy"],
    endedBefore?: number,
  ) {
    await this.update(runId, (run) => {
      if (!run) return run;
      const endedAt = Math.min(Date.now(), endedBefore ?? Number.POSITIVE_INFINITY);
      const gone = run.sessions.filter(hit).map((s): EndedSession => ({ ...s, endedAt, endedBy }));
      return {
        ...run,
        sessions: run.sessions.filter((s) => !hit(s)),
        ended: [...(run.ended ?? []), ...gone],
      };
    });
  }

  /** Remove a directory only if it is empty (rmdir): here through fs, elsewhere through the host. */
  private async removeEmptyDir(dir: string): Promise<void> {
    if (this.host.id === "local") await rmdir(dir).catch(() => undefined);
    else await this.host.run({ file: "rmdir", args: ["--", dir] }).catch(() => undefined);
  }

  /**
   * Remove ended sessions older than `keepMs` whose files are on this machine (a remote machine's are
   * removed by `sessions ls --prune`, which reaches it), and the records left with nothing.
   */
  async pruneEnded(keepMs = ENDED_KEEP_MS): Promise<void> {
    const cutoff = Date.now() - keepMs;
    for (const run of await this.list()) {
      const old = (run.ended ?? []).filter(
        (s) => s.endedAt < cutoff && run.machines[s.machine]?.host === this.host.id,
      );
      if (!old.length) continue;
      const stateDir = await this.stateDir();
      await Promise.all(
        old.map((s) =>
          isOwnRunDir(stateDir, s.runDir) ? this.host.remove(s.runDir).catch(() => {}) : undefined,
        ),
      );
      // Their run's directory (and a machine's own under it) goes once empty: cron-run mc left one empty
      // directory per run for good (review H25-5).
      const parents = new Set(old.flatMap((s) => [dirname(s.runDir), dirname(dirname(s.runDir))]));
      for (const d of [...parents].sort((a, b) => b.length - a.length))
        if (isOwnRunDir(stateDir, d)) await this.removeEmptyDir(d);
      await this.update(run.id, (r) => {
        if (!r) return r;
        const ended = (r.ended ?? []).filter((s) => !old.some((o) => o.runDir === s.runDir));
        return r.sessions.length || ended.length ? { ...r, ended } : undefined;
      });
    }
  }
}
