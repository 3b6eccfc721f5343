import type { ManagedRun, ManagedSession, SessionManager } from "@mc/core";
import { describe, expect, it } from "vitest";
import { type LoadedRun, settleDuplicates } from "../src/registry.js";

/** A loaded run of one session whose settling is recorded, not written. */
function runOf(
  id: string,
  createdAt: number,
  s: Partial<ManagedSession> & { name: string },
  backendOptions: object = { socket: { path: "/tmp/s" } },
) {
  const settled: [string, boolean][] = [];
  const session = {
    machine: "local",
    runDir: `/state/runs/${id}`,
    startedAt: createdAt,
    ...s,
  } as ManagedSession;
  const stub: { managed: ManagedSession[]; settleStale(x: ManagedSession, same: boolean): Promise<void> } = {
    managed: [session],
    async settleStale(x, same) {
      settled.push([x.name, same]);
      stub.managed = stub.managed.filter((y) => y !== x);
    },
  };
  const manager = stub as unknown as SessionManager;
  const run = {
    id,
    createdAt,
    machines: { local: { backendOptions } },
    sessions: [session],
  } as unknown as ManagedRun;
  return { loaded: { backend: "tmux", run, manager } as LoadedRun, settled };
}

describe("settling a session two run records hold (review H35-4)", () => {
  it("the newest copy stays; the stale one is dropped when it is the same session, retired when another", async () => {
    const old = runOf("a", 1, { name: "x", runDir: "/state/runs/a" });
    const merged = runOf("b", 2, { name: "x", runDir: "/state/runs/a", startedAt: 1 });
    await settleDuplicates([old.loaded, merged.loaded]);
    expect([old.settled, merged.settled]).toEqual([[["x", true]], []]);
    const gone = runOf("c", 1, { name: "y" });
    const again = runOf("d", 5, { name: "y" });
    await settleDuplicates([again.loaded, gone.loaded]);
    expect([gone.settled, again.settled]).toEqual([[["y", false]], []]);
  });

  it("a merge's run, whose createdAt is the merged session's first start, is the newer by its id (review H42-1)", async () => {
    for (const order of [0, 1]) {
      const old = runOf("20261206-100000-aaaaaa", 1, { name: "x", runDir: "/state/runs/a" });
      const merged = runOf("20261206-100500-bbbbbb", 1, { name: "x", runDir: "/state/runs/a" });
      await settleDuplicates(order ? [merged.loaded, old.loaded] : [old.loaded, merged.loaded]);
      expect([old.settled, merged.settled]).toEqual([[["x", true]], []]);
    }
  });

  it("never across servers: two tmux sockets, two zellij socket directories (review H36-1), two tools, two machines", async () => {
    const pairs = [
      [
        runOf("a", 1, { name: "x" }, { socket: { path: "/tmp/s1" } }),
        runOf("b", 2, { name: "x" }, { socket: { path: "/tmp/s2" } }),
      ],
      [
        runOf("a", 1, { name: "x", data: { socketDir: "/run/user/0/zellij" } }, {}),
        runOf("b", 2, { name: "x", data: { socketDir: "/tmp/other-zellij" } }, {}),
      ],
      [runOf("a", 1, { name: "x", machine: "box1" }), runOf("b", 2, { name: "x", machine: "box2" })],
    ];
    for (const [p, q] of pairs) {
      await settleDuplicates([p!.loaded, q!.loaded]);
      expect([p!.settled, q!.settled]).toEqual([[], []]);
    }
    const tmux = runOf("a", 1, { name: "x" });
    const zellij = runOf("b", 2, { name: "x" });
    zellij.loaded.backend = "zellij";
    await settleDuplicates([tmux.loaded, zellij.loaded]);
    expect([tmux.settled, zellij.settled]).toEqual([[], []]);
  });

  it("not while the newer copy is still starting (a restart in progress retires the old one itself), nor two entries of one record", async () => {
    const old = runOf("a", 1, { name: "x" });
    const starting = runOf("b", 2, { name: "x", starting: {} });
    await settleDuplicates([old.loaded, starting.loaded]);
    expect(old.settled).toEqual([]);
    const one = runOf("c", 1, { name: "z" });
    const second = { ...one.loaded.manager.managed[0]!, startedAt: 3 };
    one.loaded.manager.managed.push(second);
    await settleDuplicates([one.loaded]);
    expect(one.settled).toEqual([]);
  });

  it("a later start in an older run (a -p batch, a scheduler) is the newer copy", async () => {
    const batchRun = runOf("a", 1, { name: "b2", startedAt: 10 });
    const other = runOf("b", 5, { name: "b2", startedAt: 5 });
    await settleDuplicates([batchRun.loaded, other.loaded]);
    expect([batchRun.settled, other.settled]).toEqual([[], [["b2", false]]]);
  });
});
