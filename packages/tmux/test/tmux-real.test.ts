import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, type Host, isMcError, type LayoutConfig, parseTabRecord, shQuote } from "@mc/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { exactSession, TmuxLocalManager, tmuxStoredName } from "../src/index.js";
import { layout, type PrivateTmux, privateTmux, processesMentioning, waitFor } from "./harness.js";

describe("tmux: commands run exactly as written (property, real tmux)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  const nasty = fc.constantFrom(
    "'",
    '"',
    "$",
    "`",
    ";",
    "&&",
    "|",
    "\\",
    "\n",
    "%",
    "#{",
    "}",
    "#(",
    ")",
    "~",
    "*",
    "é",
    "😀",
    "\t",
    " ",
    "$(",
    "!",
    "<",
    ">",
  );
  const payload = fc
    .array(fc.oneof(nasty, fc.string({ unit: "grapheme", maxLength: 4 })), { minLength: 1, maxLength: 12 })
    .map((a) => a.join(""));

  it("200 generated commands each write back exactly what they received", async () => {
    const payloads = fc.sample(
      payload.filter((s) => !s.includes("\0")),
      { numRuns: 200, seed: 42 },
    );
    const out = (i: number) => join(t.work, `out-${i}`);
    const tabs = payloads.map((p, i): [string, string] => [
      `p${i}`,
      `printf '%s' ${shQuote(p)} > ${shQuote(out(i))}`,
    ]);
    // Four sessions of 50 tabs: what a user would run, and quicker than 200 sessions.
    const layouts = [0, 1, 2, 3].map((k) => layout(`prop${k}`, tabs.slice(k * 50, k * 50 + 50), t.work));
    const m = t.manager({ sessionLayouts: layouts, keepShell: false });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
      60000,
    );
    expect(r.summary.totalCommands).toBe(200);
    const bad = payloads.filter((p, i) => !existsSync(out(i)) || readFileSync(out(i), "utf8") !== p);
    expect(bad).toEqual([]);
    expect(
      r.sessions.flatMap((s) => s.tabs).every((tab) => tab.state === "exited" && tab.exitCode === 0),
    ).toBe(true);
  }, 120_000);

  it("shell features work: pipes, &&, ;, env assignments, redirections", async () => {
    const f = join(t.work, "features");
    const m = t.manager({
      sessionLayouts: [
        layout(
          "feat",
          [
            [
              "f",
              `FOO=bar sh -c 'echo $FOO' | tr a-z A-Z > ${f}; echo two >> ${f} && cat < ${f} | wc -l >> ${f}`,
            ],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(readFileSync(f, "utf8")).toBe("BAR\ntwo\n2\n");
    await m.killAllSessions();
  });
});

describe("tmux: names", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("#(…) and #{…} in names are text, never run", async () => {
    const marker = join(t.work, "pwned");
    const evil = `#(touch ${marker})#{session_id}`;
    const m = t.manager({ sessionLayouts: [layout(evil, [[evil, "sleep 30"]], t.work)] });
    await m.startAllSessions();
    const r = await m.checkAllSessionsStatus();
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(marker)).toBe(false);
    // The session's name spells the space as _ (as machineconfig); the tab's name is kept as written.
    expect(r.sessions[0]!.session).toBe(evil.replaceAll(" ", "_"));
    expect(r.sessions[0]!.tabs[0]!.tabName).toBe(evil);
    expect(t.tmux("list-windows", "-a", "-F", "#{window_name}")).toContain(evil);
    await m.killAllSessions();
  });

  it("#[…] in names is text tmux draws as written, never a style of the status line (review H22-2)", async () => {
    const name = "st#[fg=colour196]x ##[bg=red]";
    const tab = "t#[range=user|x]y";
    const m = t.manager({ sessionLayouts: [layout(name, [[tab, "sleep 30"]], t.work)] });
    const [s] = await m.startAllSessions();
    expect(s!.name).toBe("st#[fg=colour196]x_##[bg=red]");
    // Kept with every run of # before [ doubled: tmux draws ## as #, so the status line shows the name.
    expect(t.sessions()).toContain("st##[fg=colour196]x_####[bg=red]");
    expect(t.tmux("list-windows", "-a", "-F", "#{window_name}").split("\n")).toContain("t##[range=user|x]y");
    const r = await m.checkAllSessionsStatus();
    expect(r.sessions[0]).toMatchObject({ session: s!.name, exists: true });
    expect(r.sessions[0]!.tabs[0]!.tabName).toBe(tab);
    // The same name again is the same session (a conflict), and kill finds it.
    const again = t.manager({ sessionLayouts: [layout(name, [[tab, "sleep 30"]], t.work)] });
    await expect(again.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    await m.killAllSessions();
    expect(t.sessions().join("\n")).not.toContain("st#");
  });

  it("a foreign session holding the name tmux keeps for a #[ name is a conflict, found before anything starts (review H24-2)", async () => {
    t.tmux("new-session", "-d", "-s", "f##[fg=red]b", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("f#[fg=red]b", [["t", "sleep 30"]], t.work)] });
    await expect(m.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    const [s] = await m.startAllSessions({ onConflict: "rename" });
    expect(s!.name).toBe("f#[fg=red]b_1");
    await m.killAllSessions();
    expect(t.sessions()).toContain("f##[fg=red]b");
    t.tmux("kill-session", "-t", "=f##[fg=red]b");
    // A foreign session named exactly as the layout is in the way too: mc's would be drawn the same
    // (review H26-4).
    t.tmux("new-session", "-d", "-s", "g#[x]", "sleep 1000");
    const g = t.manager({ sessionLayouts: [layout("g#[x]", [["t", "sleep 30"]], t.work)] });
    await expect(g.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    const [gs] = await g.startAllSessions({ onConflict: "rename" });
    expect(gs!.name).toBe("g#[x]_1");
    await g.killAllSessions();
    t.tmux("kill-session", "-t", "=g#[x]");
  });

  it("a startDir holding #(…) is a path, not a command", async () => {
    // One path component: the job would expand $MC_STATE_DIR from the server's environment.
    const marker = `${t.stateDir}.pwned`;
    const dir = join(t.work, "d#(touch $MC_STATE_DIR.pwned)#{pane_id}");
    mkdirSync(dir);
    const out = join(t.work, "pwd-out");
    const m = t.manager({ sessionLayouts: [layout("dirs", [["t", `pwd > ${shQuote(out)}`]], dir)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(out, "utf8").trim()).toBe(dir);
    await m.killAllSessions();
  });

  it("refuses a missing startDir before starting anything", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout("fine", [["t", "sleep 30"]], t.work),
        layout("broken", [["t", "true"]], join(t.work, "nope")),
      ],
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("LAYOUT_INVALID");
    expect(err.message).toContain(
      `layouts[1].layoutTabs[0].startDir: does not exist: ${join(t.work, "nope")}`,
    );
    expect(t.sessions()).not.toContain("fine");
  });

  it("tmux's stored spelling of a name (\\ and $x escaped) is what mc compares and targets (review H56-2)", async () => {
    // Each as tmux 3.3a keeps it after session_check_name: `.`/`:` as `_`, then utf8_stravis.
    const names = ["s\\b", "s${b}", "s$1", "s$", "s$-", "s$$b", "s\\$b", "s$.", "x.y$z", "é$é", "s$_u"];
    for (const n of names) t.tmux("new-session", "-d", "-s", n, "sleep 1000");
    const listed = t.sessions();
    for (const n of names) {
      expect(listed).toContain(tmuxStoredName(n));
      expect(() => t.tmux("has-session", "-t", exactSession(n))).not.toThrow();
    }
    expect(names.map(tmuxStoredName)).toEqual([
      "s\\\\b",
      "s\\${b}",
      "s$1",
      "s$",
      "s$-",
      "s$\\$b",
      "s\\\\\\$b",
      "s\\$_",
      "x_y\\$z",
      "é$é",
      "s\\$_u",
    ]);
    for (const n of names) t.tmux("kill-session", "-t", exactSession(n));
    // A foreign session of such a name is in the way of the layout of that name, before anything starts
    // (it was "duplicate session" from tmux's rename), and mc's own is found, renamed and killed by name.
    t.tmux("new-session", "-d", "-s", "w\\x${y}", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("w\\x${y}", [["t", "sleep 30"]], t.work)] });
    await expect(m.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    const [s] = await m.startAllSessions({ onConflict: "rename" });
    expect(s!.name).toBe("w\\x${y}_1");
    expect(t.sessions()).toContain("w\\\\x\\${y}_1");
    expect((await m.backend.listSessions()).map((x) => m.backend.sessionKey(x.name))).toContain(
      "w\\\\x\\${y}_1",
    );
    const r = await m.checkAllSessionsStatus();
    expect(r.sessions[0]).toMatchObject({ session: "w\\x${y}_1", exists: true });
    // Without the session's tmux id (a start not seen through): by its stored name and marks.
    const bare = { ...m.managed[0]!, data: { ...m.managed[0]!.data, sessionId: undefined } };
    expect(await m.backend.kill(bare.name, bare)).toBe("killed");
    expect(t.sessions()).toContain("w\\\\x\\${y}");
    t.tmux("kill-session", "-t", "=w\\\\x\\${y}");
  });

  it("a.b:c, 'build #1' and emoji names round-trip; duplicate tab names work", async () => {
    const names = ["a.b:c", "build #1", "déploiement 🚀"];
    const m = t.manager({
      sessionLayouts: names.map((n) =>
        layout(
          n,
          [
            [n, "sleep 30"],
            [n, "exit 4"],
          ],
          t.work,
        ),
      ),
    });
    const started = await m.startAllSessions();
    expect(started.map((s) => s.name)).toEqual(names.map((n) => n.replaceAll(" ", "_")));
    // Under load a tab's wrapper can write its first record after the other tab already ended: the
    // long one reads pending until then, so both are waited for.
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions.every((s) => s.tabs[1]!.state === "exited" && s.tabs[0]!.state === "running"),
    );
    expect(r.sessions.map((s) => [s.session, s.exists, s.tabs.map((x) => [x.tabName, x.state])])).toEqual(
      names.map((n) => [
        n.replaceAll(" ", "_"),
        true,
        [
          [n, "running"],
          [n, "exited"],
        ],
      ]),
    );
    expect((await m.backend.listSessions()).map((s) => s.name)).toEqual(
      expect.arrayContaining(names.map((n) => n.replaceAll(" ", "_"))),
    );
    await m.killAllSessions();
  });

  it("a new server's session holding a dead session's id is not that session (review H23-1)", async () => {
    // A server of its own: ids from $0.
    const u = privateTmux();
    try {
      const m = u.manager({
        sessionLayouts: [layout("x", [["t", "sleep 30"]], u.work), layout("y", [["t", "sleep 30"]], u.work)],
      });
      await m.startAllSessions();
      const x = m.managed.find((s) => s.name === "x")!;
      const xId = String(x.data?.sessionId);
      // The server dies while the run goes on; a new one numbers its sessions from $0 again, and the run's
      // next session (y, stamped as the run stamps it) comes to hold x's id.
      u.tmux("kill-server");
      // A new server once the old one has gone (a client reaching the dying one fails).
      await waitFor(
        async () => {
          try {
            u.tmux("list-sessions");
            return false;
          } catch (e) {
            return /no server running|error connecting/.test(String((e as { stderr?: unknown }).stderr));
          }
        },
        (gone) => gone,
      );
      for (let i = 0; i < Number(xId.slice(1)); i++) u.tmux("new-session", "-d", "-s", `pad${i}`, "sleep 60");
      u.tmux("new-session", "-d", "-s", "y", "sleep 60");
      u.tmux("set-option", "-t", "=y:", "@mc_run", String(x.data?.runId));
      u.tmux("set-option", "-t", "=y:", "@mc_name", "y");
      expect(u.tmux("list-sessions", "-F", "#{session_id} #{session_name}")).toContain(`${xId} y\n`);
      const r = await m.checkAllSessionsStatus();
      expect(r.sessions.find((s) => s.session === "x")).toMatchObject({ exists: false });
      expect(await m.backend.kill("x", x)).toBe("gone");
      expect(u.sessions()).toContain("y");
    } finally {
      u.stop();
    }
  });

  it("a record without its run id (edited by hand) never reaches a session of that name (review H23-5)", async () => {
    t.tmux("new-session", "-d", "-s", "foreign5", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("own5", [["t", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    const own = m.managed[0]!;
    const { runId: _, sessionId: __, ...data } = own.data ?? {};
    const edited = { ...own, name: "foreign5", requestedName: "foreign5", data };
    await expect(m.backend.kill("foreign5", edited)).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    expect(t.sessions()).toContain("foreign5");
    const [obs] = await m.backend.observe([edited]);
    expect(obs!.exists).toBe(false);
    await m.killAllSessions();
    t.tmux("kill-session", "-t", "=foreign5");
  });

  it("a pane respawned by hand: its tab reads as its record says, killed, not pending for ever (review H24-1)", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "resp",
          [
            ["a", "sleep 30"],
            ["b", "sleep 31"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    const first = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    t.tmux("respawn-pane", "-k", "-t", String(first.sessions[0]!.tabs[0]!.ref));
    // The new wrapper waits for the old one's end, then refuses and keeps a shell in the pane.
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state !== "running" && x.sessions[0]!.tabs[0]!.state !== "pending",
      8000,
    );
    expect(r.sessions[0]!.tabs.map((tab) => [tab.tabName, tab.state])).toEqual([
      ["a", "killed"],
      ["b", "running"],
    ]);
    await m.killAllSessions();
  });

  it("a session replaced by another run is no longer reported (or killed) as this run's", async () => {
    const first = t.manager({ sessionLayouts: [layout("same", [["old", "sleep 30"]], t.work)] });
    await first.startAllSessions();
    const second = t.manager({ sessionLayouts: [layout("same", [["new", "sleep 30"]], t.work)] });
    await second.startAllSessions({ onConflict: "restart" });
    const r = await first.checkAllSessionsStatus();
    expect(r.sessions[0]).toMatchObject({ session: "same", exists: false });
    await first.killAllSessions();
    expect(t.sessions()).toContain("same");
    await second.killAllSessions();
    expect(t.sessions()).not.toContain("same");
  });

  it("kill of api never touches api2, and a.b conflicts with a_b (tmux keeps one name)", async () => {
    t.tmux("new-session", "-d", "-s", "api2", "sleep 1000");
    t.tmux("new-session", "-d", "-s", "a_b", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("api", [["t", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    await m.killAllSessions();
    expect(t.sessions()).toContain("api2");
    const clash = t.manager({ sessionLayouts: [layout("a.b", [["t", "sleep 30"]], t.work)] });
    await expect(clash.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    const renamed = await clash.startAllSessions({ onConflict: "rename" });
    expect(renamed[0]!.name).toBe("a.b_1");
    await clash.killAllSessions();
  });
});

describe("tmux: exit codes, base-index 1, rollback, server death", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux("set -g base-index 1\nset -g pane-base-index 1\nset -g renumber-windows on\n");
  });
  afterAll(() => t.stop());

  it("a start is verified: tmux exiting 0 without a server is a failure, and a fresh TMUX_TMPDIR works", async () => {
    const { TmuxLocalManager } = await import("../src/index.js");
    // tmux 3.3a prints "error creating <socket>" and exits 0 when the socket's directory is missing.
    const missing = new TmuxLocalManager({
      sessionLayouts: [layout("nowhere", [["t", "sleep 30"]], t.work)],
      socket: join(t.dir, "no-such-dir", "sock"),
      host: t.host,
    });
    const err = await missing.startAllSessions().catch((e) => e);
    expect(isMcError(err, "START_FAILED"), String(err)).toBe(true);
    expect(err.message).toContain("could not create its socket");
    expect(missing.managed).toEqual([]);
    // A socket name under a TMUX_TMPDIR that has no tmux-<uid> directory yet: mc makes it, 0700, as tmux does.
    const tmpdir = join(t.dir, "fresh-tmpdir");
    mkdirSync(tmpdir);
    // (The socket is pinned to a path from this process's environment when the manager is made.)
    const saved = process.env.TMUX_TMPDIR;
    process.env.TMUX_TMPDIR = tmpdir;
    let named: InstanceType<typeof TmuxLocalManager>;
    try {
      named = new TmuxLocalManager({
        sessionLayouts: [layout("fresh", [["t", "sleep 30"]], t.work)],
        socket: "mc-fresh",
        host: t.host,
      });
      await named.startAllSessions();
    } finally {
      if (saved === undefined) delete process.env.TMUX_TMPDIR;
      else process.env.TMUX_TMPDIR = saved;
    }
    const sock = join(tmpdir, `tmux-${process.getuid?.() ?? 0}`, "mc-fresh");
    expect(existsSync(sock)).toBe(true);
    expect((await named.checkAllSessionsStatus()).sessions[0]!.exists).toBe(true);
    await named.killAllSessions();
    try {
      execFileSync("tmux", ["-S", sock, "kill-server"], { stdio: "ignore" });
    } catch {
      // The server ended with its last session.
    }
  });

  it("reports exit 0, 3, 130 and a killed command (base-index 1 config)", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "codes",
          [
            ["zero", "exit 0"],
            ["three", "exit 3"],
            ["int", "exit 130"],
            ["victim", "sleep 60"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    const running = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) =>
        x.sessions[0]!.tabs[3]!.state === "running" &&
        x.sessions[0]!.tabs[3]!.processes.some((p) => p.command.startsWith("sleep")),
    );
    const sleep = running.sessions[0]!.tabs[3]!.processes.find((p) => p.command.startsWith("sleep"))!;
    process.kill(sleep.pid, "SIGKILL");
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state, x.exitCode, x.signal])).toEqual([
      ["zero", "exited", 0, undefined],
      ["three", "exited", 3, undefined],
      ["int", "killed", 130, "SIGINT"],
      ["victim", "killed", 137, "SIGKILL"],
    ]);
    // The tabs stay usable: each still has a live shell after its command ended.
    expect(r.sessions[0]!.tabs.every((x) => x.processes.length > 0)).toBe(true);
    expect(t.tmux("list-windows", "-t", "=codes:", "-F", "#{window_index}").trim().split("\n")).toEqual([
      "1",
      "2",
      "3",
      "4",
    ]);
    await m.killAllSessions();
  });

  it("Ctrl-\\ in a tab ends its command, not the tab: killed SIGQUIT, recorded, the shell stays", async () => {
    const m = t.manager({ sessionLayouts: [layout("quit", [["q", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.processes.some((p) => p.command.startsWith("sleep")),
    );
    t.tmux("send-keys", "-t", "=quit:", "C-\\");
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(r.sessions[0]!.tabs.map((x) => [x.state, x.exitCode, x.signal])).toEqual([
      ["killed", 131, "SIGQUIT"],
    ]);
    expect(t.tmux("list-panes", "-t", "=quit:", "-F", "#{pane_dead}").trim()).toBe("0");
    await m.killAllSessions();
  });

  // bash and zsh with a home of their own (root's ~/.bashrc here can take a minute); sh reads $ENV.
  const interactiveShells = ["/bin/bash", "/bin/zsh", "/bin/sh"].filter((x) => existsSync(x));

  it.each(interactiveShells)(
    "%s: in an interactive tab Ctrl-C and Ctrl-\\ end all of its command, Ctrl-Z does nothing, the terminal is the tab's after (reviews H33-2, H34-1, H34-2, H35-2, H35-3)",
    async (shell) => {
      const name = `ictl${shell.replaceAll("/", "_")}`;
      const keys = { c: "C-c", q: "C-\\", z: "C-z" } as const;
      const tabs = Object.keys(keys).map((k) => ({
        tabName: k,
        startDir: t.work,
        command: `sleep 30\necho after > '${name}-${k}.txt'`,
        interactive: true,
        shell,
        env: { HOME: t.work, ZDOTDIR: t.work, ENV: join(t.work, "no-rc") },
      }));
      const m = t.manager({ sessionLayouts: [{ layoutName: name, layoutTabs: tabs }] });
      await m.startAllSessions();
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs.every((tab) => tab.processes.some((p) => p.command.startsWith("sleep"))),
      );
      for (const [i, key] of Object.values(keys).entries())
        t.tmux("send-keys", "-t", `=${name}:${Object.keys(keys)[i]}`, key);
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs.slice(0, 2).every((tab) => tab.state === "killed"),
      );
      // As in a plain tab: killed by the signal, not "exited 1" (H34-2).
      expect(r.sessions[0]!.tabs.slice(0, 2).map((x) => [x.state, x.exitCode])).toEqual([
        ["killed", 130],
        ["killed", 131],
      ]);
      // Ctrl-Z does nothing, as in a plain tab (it stopped the command for good under bash, zsh ran on
      // past it: H34-1, H35-3): the command runs on, and Ctrl-C still ends it.
      await new Promise((res) => setTimeout(res, 1000));
      const z = (await m.checkAllSessionsStatus()).sessions[0]!.tabs[2]!;
      expect([z.state, z.processes.some((p) => p.command.startsWith("sleep"))]).toEqual(["running", true]);
      t.tmux("send-keys", "-t", `=${name}:z`, "C-c");
      const zc = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[2]!.state === "killed",
      );
      expect([zc.sessions[0]!.tabs[2]!.state, zc.sessions[0]!.tabs[2]!.exitCode]).toEqual(["killed", 130]);
      // The terminal is the tab's again: the shell kept in it reads what is typed (H35-2: zsh kept it).
      for (const k of Object.keys(keys))
        t.tmux("send-keys", "-t", `=${name}:${k}`, `echo typed-${k} > '${name}-typed-${k}.txt'`, "Enter");
      for (const k of Object.keys(keys))
        expect(
          await waitFor(
            async () => existsSync(join(t.work, `${name}-typed-${k}.txt`)),
            (x) => x,
            10_000,
          ),
          k,
        ).toBe(true);
      for (const k of Object.keys(keys)) expect(existsSync(join(t.work, `${name}-${k}.txt`)), k).toBe(false);
      await m.killAllSessions();
    },
  );

  it.each(
    interactiveShells.flatMap((shell) => [[shell, "its command"] as const, [shell, "its rc file"] as const]),
  )(
    "%s: killing an interactive tab while %s runs ends all of it and records the end (reviews H34-9, H35-5)",
    async (shell, during) => {
      const rc = during === "its rc file";
      const name = `ikill${shell.replaceAll("/", "_")}${rc ? "_rc" : ""}`;
      const after = join(t.work, `${name}.txt`);
      const home = join(t.work, `${name}-home`);
      mkdirSync(home, { recursive: true });
      // A slow rc file (compinit, nvm, a pyenv lock…): the tab is closed while it runs.
      for (const f of [".bashrc", ".zshrc", "env"]) writeFileSync(join(home, f), rc ? "sleep 4.25\n" : "\n");
      const tab = {
        tabName: "deploy",
        startDir: t.work,
        command: `echo started > '${after}'; sleep 30; echo after >> '${after}'`,
        interactive: true,
        shell,
        env: { HOME: home, ZDOTDIR: home, ENV: join(home, "env") },
      };
      const m = t.manager({ sessionLayouts: [{ layoutName: name, layoutTabs: [tab] }] });
      await m.startAllSessions();
      const runDir = m.managed[0]!.runDir;
      const id = String(m.managed[0]!.data?.sessionId);
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) =>
          x.sessions[0]!.tabs[0]!.processes.some((p) => p.command.startsWith(rc ? "sleep 4.25" : "sleep 30")),
      );
      // The rc case is closed by tmux, outside mc: no sweep ends what the hang-up missed.
      if (rc) t.tmux("kill-session", "-t", id);
      else await m.killAllSessions();
      const rec = await waitFor(
        async () => parseTabRecord(readFileSync(join(runDir, "tab-0.json"), "utf8")),
        (x) => x?.end !== undefined,
        5000,
      );
      expect(rec?.signal, JSON.stringify(rec)).toBe("HUP");
      // The event follows the record (CI at 60d1d3f read the file between the two).
      const events = await waitFor(
        async () => readFileSync(join(runDir, "events.ndjson"), "utf8"),
        (e) => e.includes('"type":"tab-killed"'),
        5000,
      );
      expect(events).toContain('"type":"tab-killed"');
      await new Promise((res) => setTimeout(res, rc ? 5000 : 1000));
      expect(existsSync(after) ? readFileSync(after, "utf8") : "").toBe(rc ? "" : "started\n");
      expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(
        `echo after >> '${after}'`,
      );
    },
  );

  it.each(interactiveShells)(
    "%s: Ctrl-C while an interactive tab's rc file runs ends the tab, killed 130; the command never runs (review H36-2)",
    async (shell) => {
      const name = `irc${shell.replaceAll("/", "_")}`;
      const after = join(t.work, `${name}.txt`);
      const home = join(t.work, `${name}-home`);
      mkdirSync(home, { recursive: true });
      for (const f of [".bashrc", ".zshrc", "env"]) writeFileSync(join(home, f), "sleep 4.5\n");
      const tab = {
        tabName: "c",
        startDir: t.work,
        command: `echo ran > '${after}'`,
        interactive: true,
        shell,
        env: { HOME: home, ZDOTDIR: home, ENV: join(home, "env") },
      };
      const m = t.manager({ sessionLayouts: [{ layoutName: name, layoutTabs: [tab] }] });
      await m.startAllSessions();
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.processes.some((p) => p.command.startsWith("sleep 4.5")),
      );
      t.tmux("send-keys", "-t", `=${name}:c`, "C-c");
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.state !== "running",
      );
      expect([r.sessions[0]!.tabs[0]!.state, r.sessions[0]!.tabs[0]!.exitCode]).toEqual(["killed", 130]);
      expect(existsSync(after)).toBe(false);
      await m.killAllSessions();
    },
  );

  it("kill 0 from a tab (the trap 'kill 0' EXIT cleanup idiom) ends its command, not its tab: recorded, not retried (a TERM is a stop: H67-1), the shell stays (review H15-1)", async () => {
    const m = t.manager({
      sessionLayouts: [
        {
          ...layout("k0", [["k", "trap 'kill 0' EXIT; sleep 0.3; exit 0"]], t.work),
          layoutTabs: [
            {
              tabName: "k",
              startDir: t.work,
              command: "trap 'kill 0' EXIT; sleep 0.3; exit 0",
              retry: { max: 1 },
            },
            { tabName: "other", startDir: t.work, command: "sleep 30" },
          ],
        },
      ],
    });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state !== "running" && x.sessions[0]!.tabs[0]!.state !== "pending",
    );
    // Its own TERM killed it: said as such, never as the tab's hang-up; a command ended by TERM is not
    // retried (review H67-1).
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state, x.exitCode, x.attempt])).toEqual([
      ["k", "killed", 143, undefined],
      ["other", "running", undefined, undefined],
    ]);
    expect(t.tmux("list-panes", "-s", "-t", "=k0:", "-F", "#{pane_dead}").trim().split("\n")).toEqual([
      "0",
      "0",
    ]);
    await m.killAllSessions();
  });

  it("rolls back what it started when a later session fails, and names it; no tab process outlives the roll-back", async () => {
    // A host that lets another client grab the second session's name just before mc builds it.
    const sneaky: Host = {
      ...t.host,
      run: async (cmd: Command, o) => {
        if (cmd.args.includes("source-file") && String(cmd.args.at(-1)).includes("/s1/")) {
          t.tmux("new-session", "-d", "-s", "second", "sleep 1000");
        }
        return t.host.run(cmd, o);
      },
    };
    const m = t.manager({
      sessionLayouts: [
        // Commands that ignore the hang-up (as one whose shell is forking when it comes never gets it).
        layout("first", [["t", "trap '' HUP; sleep 30"]], t.work),
        layout("second", [["t", "trap '' HUP; sleep 30"]], t.work),
      ],
      host: sneaky,
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(processesMentioning(join(t.stateDir, "runs"))).toEqual([]);
    expect(isMcError(err, "START_FAILED")).toBe(true);
    expect(err.message).toContain('session "second" failed to start: duplicate session: second');
    expect(err.hint).toBe("rolled back 1 of 1 session(s) this run had started");
    expect(t.sessions()).not.toContain("first");
    expect(t.sessions().sort().join(",")).toBe("keeper,second");
    t.tmux("kill-session", "-t", "=second");
  });

  it("a build that fails part-way (panes that do not fit) leaves no session, renamed or not; a later tab's window goes too", async () => {
    const crowded = (name: string, extra: number): LayoutConfig => ({
      layoutName: name,
      layoutTabs: [
        {
          tabName: "t",
          startDir: t.work,
          command: "sleep 30",
          panes: Array.from({ length: extra }, () => ({ command: "sleep 30", size: "1%" })),
        },
      ],
    });
    const before = t.sessions().sort();
    for (const extra of [4, 14]) {
      const m = t.manager({ sessionLayouts: [crowded(`crowd${extra}`, extra)] });
      const err = await m.startAllSessions().catch((e) => e);
      expect(isMcError(err, "START_FAILED"), String(err)).toBe(true);
      expect(err.message).toContain("no space for new pane");
      // Said once, not once per pane, with what to do.
      expect(err.message.match(/no space for new pane/g)).toHaveLength(1);
      expect(t.sessions().sort()).toEqual(before);
      expect(t.tmux("list-panes", "-a", "-F", "#{pane_start_command}")).not.toContain(`crowd${extra}`);
    }
    // The same tab opened later in a running session (a scheduler's startTab): its window is removed.
    const later: LayoutConfig = {
      layoutName: "crowdlater",
      layoutTabs: [{ tabName: "a", startDir: t.work, command: "sleep 30" }, crowded("x", 14).layoutTabs[0]!],
    };
    const m = t.manager({ sessionLayouts: [later] });
    await m.startAllSessions({ initialTabs: 1 });
    expect(await m.startTab("crowdlater", 1).catch((e) => e)).toBeInstanceOf(Error);
    expect(t.tmux("list-windows", "-t", "=crowdlater:", "-F", "#{window_name}").trim().split("\n")).toEqual([
      "a",
    ]);
    await m.killAllSessions();
  });

  it("every process of a tab carries its marker from its first instant; a window the user adds does not", async () => {
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "marked",
          layoutTabs: [
            {
              tabName: "a",
              startDir: t.work,
              command: "sleep 30",
              panes: [{ command: "sleep 31", split: "right" }],
            },
            { tabName: "b", startDir: t.work, command: "sleep 32" },
          ],
        },
      ],
    });
    await m.startAllSessions();
    const runDir = m.managed[0]!.runDir;
    const environ = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      } catch {
        return [];
      }
    };
    const children = (pid: number): number[] => {
      let kids: number[] = [];
      try {
        kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
          .split(" ")
          .filter(Boolean)
          .map(Number);
      } catch {}
      return kids.flatMap((k) => [k, ...children(k)]);
    };
    // The wrapper itself (tmux's pane process) and everything below it: the sleep shows once it runs.
    const panes = await waitFor(
      async () =>
        t
          .tmux("list-panes", "-s", "-t", "=marked:", "-F", "#{pane_pid}")
          .split("\n")
          .filter(Boolean)
          .map(Number),
      (p) => p.length === 3 && p.every((x) => children(x).length >= 2),
    );
    const seen = panes.map((p) => {
      const tree = [p, ...children(p)];
      return [...new Set(tree.map((x) => environ(x).find((e) => e.startsWith("MC_TAB=")) ?? "none"))];
    });
    expect(seen.sort()).toEqual(
      [[`MC_TAB=${runDir}#0`], [`MC_TAB=${runDir}#1`], [`MC_TAB=${runDir}#2`]].sort(),
    );
    // A window the user opens in mc's session is not one of its tabs.
    t.tmux("new-window", "-d", "-t", "=marked:", "sleep 33");
    const theirs = Number(t.tmux("list-panes", "-t", "=marked:{end}", "-F", "#{pane_pid}").trim());
    expect(environ(theirs).filter((e) => e.startsWith("MC_TAB="))).toEqual([]);
    await m.killAllSessions();
  });

  it("monitoring survives the tmux server dying and reports the tabs as killed", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "doomed",
          [
            ["a", "sleep 60"],
            ["b", "sleep 60"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    const errors: string[] = [];
    let cycles = 0;
    const done = m.runMonitoringRoutine({
      intervalMs: 100,
      onSnapshot: (s) => {
        cycles++;
        if (s.report?.sessions[0]?.error) errors.push(s.report.sessions[0].error);
      },
    });
    // At least two polls saw the live server (on a loaded machine 300 ms may hold only one).
    await waitFor(
      async () => cycles,
      (n) => n >= 2,
    );
    t.tmux("kill-server");
    const last = await done;
    expect(cycles).toBeGreaterThan(1);
    expect(last!.sessions[0]!.exists).toBe(false);
    // The last poll may have caught the server mid-shutdown (no panes, no error); once it is gone the
    // status says so plainly.
    expect((await m.checkAllSessionsStatus()).sessions[0]!.error).toBe("the tmux server is not running");
    expect(last!.sessions[0]!.tabs.map((x) => [x.state, x.signal])).toEqual([
      ["killed", "SIGHUP"],
      ["killed", "SIGHUP"],
    ]);
  });
});

describe("tmux: the process a record names (real tmux)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("a pid taken by another process after the wrapper was killed outright is not the tab's, whatever the wall clock says (review H77-2)", async () => {
    const m = t.manager({ sessionLayouts: [layout("ident", [["a", "sleep 300"]], t.work)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "running",
    );
    const file = join(m.managed[0]!.runDir, "tab-0.json");
    const rec = parseTabRecord(readFileSync(file, "utf8"))!;
    const ticksOf = (pid: number) =>
      Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);
    // The wrapper wrote its start at an uptime (1/100 s) its own start in ticks since boot precedes.
    expect(rec.up).toBeGreaterThanOrEqual(ticksOf(rec.pid));
    expect(rec.up! - ticksOf(rec.pid)).toBeLessThan(500);
    // Killed outright (no end recorded), and its pid now another program's, started after the tab: the
    // record is given that pid, as a reused pid would give it.
    const wrapperAndBelow = readFileSync(`/proc/${rec.pid}/task/${rec.pid}/children`, "utf8")
      .trim()
      .split(" ");
    for (const p of [rec.pid, ...wrapperAndBelow.filter(Boolean).map(Number)]) process.kill(p, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1200));
    const stranger = execFileSync("sh", ["-c", "sleep 311 >/dev/null 2>&1 & echo $!"], {
      encoding: "utf8",
    }).trim();
    try {
      writeFileSync(file, `${JSON.stringify({ ...rec, pid: Number(stranger) })}\n`);
      // This process's clock a minute behind the one the record was written with (a step back since).
      const real = Date.now.bind(Date);
      const spy = vi.spyOn(Date, "now").mockImplementation(() => real() - 60_000);
      let r: Awaited<ReturnType<typeof m.checkAllSessionsStatus>>;
      try {
        r = await m.checkAllSessionsStatus();
      } finally {
        spy.mockRestore();
      }
      const tab = r.sessions[0]!.tabs[0]!;
      expect(tab.state).not.toBe("running");
      expect(tab.processes.map((p) => p.command).join("\n")).not.toContain("sleep 311");
    } finally {
      process.kill(Number(stranger), "SIGKILL");
    }
  });
});

describe("tmux: a command that outlives its tab (real tmux)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("a command that ignores the hang-up runs on after its server is SIGKILLed: its tab reads running, with how to end it, until it ends (review H55-1)", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "outlive",
          [
            ["a", "sleep 60"],
            ["b", "trap '' HUP; sleep 5; echo survived"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    process.kill(Number(t.tmux("display-message", "-p", "#{pid}").trim()), "SIGKILL");
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "killed",
    );
    const [a, b] = r.sessions[0]!.tabs;
    expect(r.sessions[0]!.exists).toBe(false);
    expect([a!.state, a!.signal]).toEqual(["killed", "SIGHUP"]);
    expect(b!.state).toBe("running");
    expect(b!.error).toMatch(
      /^its tab is gone, but its command runs on outside it \(pid \d+(, \d+)*\); a kill of its session ends it$/,
    );
    expect(b!.orphans!.length).toBeGreaterThan(0);
    expect(b!.processes.map((p) => p.command).join("\n")).toContain("sleep 5");
    expect(r.summary).toMatchObject({ runningCommands: 1, allFinished: false });
    // Once it ends, its recorder writes the end the hang-up meant: finished.
    const after = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[1]!.state !== "running",
      20_000,
    );
    expect([after.sessions[0]!.tabs[1]!.state, after.sessions[0]!.tabs[1]!.signal]).toEqual([
      "killed",
      "SIGHUP",
    ]);
    expect(after.summary.allFinished).toBe(true);
  });

  it("a command that ignores the hang-up runs on after its window is closed: running with its pids, not killed SIGHUP, until it ends (review H64-1)", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "closed",
          [
            ["a", "sleep 60"],
            // The tab's own shell dies of the hang-up (its end is recorded); what it started runs on.
            ["b", `sh -c "trap '' HUP; sleep 4"; echo never`],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    const id = String(m.managed[0]!.data?.sessionId);
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    t.tmux("kill-window", "-t", `${id}:b`);
    // Once its wrapper has recorded the hang-up (a look at once may still read it missing).
    const rec = join(m.managed[0]!.runDir, "tab-1.json");
    await waitFor(
      async () => (existsSync(rec) ? readFileSync(rec, "utf8") : ""),
      (x) => x.includes('"end"'),
    );
    const r = await m.checkAllSessionsStatus();
    const b = r.sessions[0]!.tabs[1]!;
    expect(b.state).toBe("running");
    expect(b.signal).toBeUndefined();
    expect(b.orphans!.length).toBeGreaterThan(0);
    expect(b.processes.map((p) => p.command).join("\n")).toContain("sleep 4");
    expect(r.summary).toMatchObject({ runningCommands: 2, allFinished: false });
    // Once it ends: the hang-up's end, finished.
    const after = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[1]!.state !== "running",
      20_000,
    );
    expect([after.sessions[0]!.tabs[1]!.state, after.sessions[0]!.tabs[1]!.signal]).toEqual([
      "killed",
      "SIGHUP",
    ]);
    await m.killAllSessions();
  });
});

describe("tmux: tabs started one by one (dynamic scheduling primitives)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("starts only the first tabs, then adds and closes tabs by ref", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "dyn",
          [
            ["a", "exit 0"],
            ["b", "sleep 30"],
            ["c", "exit 5"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    let r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs.map((x) => x.state)).toEqual(["exited", "not-started", "not-started"]);
    await m.startTab("dyn", 2);
    r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[2]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs[2]).toMatchObject({ tabName: "c", state: "exited", exitCode: 5 });
    await m.killTab(r.sessions[0]!.tabs[0]!.ref!);
    const windows = t.tmux("list-windows", "-t", "=dyn:", "-F", "#{window_name}").trim().split("\n");
    expect(windows).toEqual(["c"]);
    await m.killAllSessions();
  });

  it("a state directory whose path holds % and # keeps its logs there (review H49-1: strftime made %Y 2026)", async () => {
    const { localHost } = await import("@mc/core");
    const stateDir = join(t.dir, "st%Y%%#{pane_id}##x");
    const m = t.manager({
      sessionLayouts: [layout("pct", [["a", "printf 'pct-out\\n'; sleep 30"]], t.work)],
      host: localHost({ env: { ...t.env, MC_STATE_DIR: stateDir }, stateDir }),
    });
    await m.startAllSessions();
    const logs = () =>
      execFileSync("find", [t.dir, "-name", "tab-0.log", "-path", "*pane_id*"], { encoding: "utf8" })
        .trim()
        .split("\n")
        .filter(Boolean);
    await waitFor(
      async () => logs(),
      (l) => l.some((f) => readFileSync(f, "utf8").includes("pct-out")),
    );
    expect(
      logs().every((f) => f.startsWith(`${stateDir}/`)),
      logs().join(" "),
    ).toBe(true);
    await m.killAllSessions();
  });

  it("each tab's output goes to its log, for tabs started at once and later", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "logs",
          [
            ["a", "printf 'from a\\n'; sleep 30"],
            ["b", "printf 'from b, $(not run)\\n'; sleep 30"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    await m.startTab("logs", 1);
    const log = (i: number) =>
      execFileSync("find", [t.stateDir, "-name", `tab-${i}.log`, "-exec", "cat", "{}", "+"], {
        encoding: "utf8",
      });
    await waitFor(
      async () => [log(0), log(1)],
      ([a, b]) => a!.includes("from a") && b!.includes("from b"),
    );
    expect(log(1)).toContain("from b, $(not run)");
    await m.killAllSessions();
  });
});

describe("tmux: attach command", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("attach from outside tmux, switch-client inside the same server, a nested attach from another server", async () => {
    const m = t.manager({ sessionLayouts: [layout("att", [["t", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    // By tmux's session id: it still reaches the session after someone renames it in tmux.
    const id = String(m.managed[0]!.data?.sessionId);
    expect(id).toMatch(/^\$\d+$/);
    expect(m.attachToSession(undefined, {})).toEqual({
      file: "tmux",
      args: ["-u", "-S", t.socket, "attach-session", "-t", id],
    });
    expect(m.attachToSession("att", { TMUX: `${t.socket},1234,0` }).args).toEqual([
      "-u",
      "-S",
      t.socket,
      "switch-client",
      "-t",
      id,
    ]);
    expect(m.attachToSession("att", { TMUX: "/tmp/tmux-0/default,1,0" })).toMatchObject({
      args: ["-u", "-S", t.socket, "attach-session", "-t", id],
      env: { TMUX: "" },
    });
    t.tmux("rename-session", "-t", id, "renamed-by-hand");
    // The command really targets the session: the same argv with has-session instead of attach succeeds.
    const cmd = m.attachToSession("att", {});
    expect(() =>
      execFileSync(
        cmd.file,
        cmd.args.map((a) => (a === "attach-session" ? "has-session" : a)),
      ),
    ).not.toThrow();
    expect(() => m.attachToSession("nope", {})).toThrow(/not managed by this run/);
    await m.killAllSessions();
  });
});

describe("tmux: restart replaces only its own sessions, and only once every replacement started", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());
  const ids = () => t.tmux("list-sessions", "-F", "#{session_name} #{@mc_run}").trim().split("\n").sort();

  it("a replacement that fails leaves every original untouched and says so", async () => {
    const first = t.manager({
      sessionLayouts: [layout("ra", [["t", "sleep 60"]], t.work), layout("rb", [["t", "sleep 60"]], t.work)],
    });
    await first.startAllSessions();
    const before = ids();
    // The second replacement's build fails (its build script cannot be read by tmux).
    const failing: Host = {
      ...t.host,
      run: async (cmd: Command, o) =>
        cmd.args.includes("source-file") && String(cmd.args.at(-1)).includes("/s1/")
          ? { exitCode: 1, stdout: "", stderr: "no such file: build.tmux", timedOut: false, durationMs: 0 }
          : t.host.run(cmd, o),
    };
    const second = t.manager({
      sessionLayouts: [
        layout("ra", [["new", "sleep 60"]], t.work),
        layout("rb", [["new", "sleep 60"]], t.work),
      ],
      host: failing,
    });
    const err = await second.startAllSessions({ onConflict: "restart" }).catch((e) => e);
    expect(isMcError(err, "START_FAILED")).toBe(true);
    expect(err.hint).toContain("the sessions it was replacing are untouched");
    expect(ids()).toEqual(before);
    expect(t.sessions().some((s) => s.startsWith("mc-build-"))).toBe(false);
    await first.killAllSessions();
  });

  it("a successful restart replaces the originals, and the old run no longer lists them", async () => {
    const first = t.manager({ sessionLayouts: [layout("rc", [["old", "sleep 60"]], t.work)] });
    await first.startAllSessions();
    const second = t.manager({ sessionLayouts: [layout("rc", [["new", "sleep 60"]], t.work)] });
    const [s] = await second.startAllSessions({ onConflict: "restart" });
    expect(s).toMatchObject({ name: "rc", action: "replace" });
    expect(t.sessions().filter((x) => x === "rc")).toHaveLength(1);
    const r = await second.checkAllSessionsStatus();
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([["new", "running"]]);
    // The first run no longer lists it as live: it is that run's history now (its logs kept).
    const old = (await first.listSaved()).find((x) => x.id === first.runId)!;
    expect(old.sessions).toEqual([]);
    expect(old.ended).toMatchObject([{ name: "rc", endedBy: "replaced" }]);
    await second.killAllSessions();
  });
});

describe("tmux: start directories (resolved by core, entered by the wrapper)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("relative directories are relative to where mc runs; ~user is refused", async () => {
    mkdirSync(join(t.work, "sub"), { recursive: true });
    const cwd = process.cwd();
    process.chdir(t.work);
    try {
      const m = t.manager({ sessionLayouts: [layout("rel", [["t", "pwd > here.txt"]], "sub")] });
      await m.startAllSessions();
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (r) => r.summary.allFinished,
      );
      expect(readFileSync(join(t.work, "sub", "here.txt"), "utf8").trim()).toBe(join(t.work, "sub"));
      await m.killAllSessions();
      const tilde = t.manager({ sessionLayouts: [layout("tl", [["t", "true"]], "~root/x")] });
      await expect(tilde.startAllSessions()).rejects.toThrow(/another user's home/);
    } finally {
      process.chdir(cwd);
    }
  });

  it("--missing-dirs create makes them; skip drops those tabs with a warning", async () => {
    const made = join(t.work, "made", "deep");
    const c = t.manager({ sessionLayouts: [layout("mk", [["t", "pwd > here.txt"]], made)] });
    // Planning (what a dry run shows) says what it will create, and creates nothing.
    const said: string[] = [];
    await c.plan({ missingDirs: "create", onWarning: (w) => said.push(w) });
    expect(said.join("\n")).toContain(`will create the missing start directory ${made}`);
    expect(existsSync(join(t.work, "made"))).toBe(false);
    await c.startAllSessions({ missingDirs: "create" });
    await waitFor(
      () => c.checkAllSessionsStatus(),
      (r) => r.summary.allFinished,
    );
    expect(existsSync(join(made, "here.txt"))).toBe(true);
    await c.killAllSessions();
    // One named with a variable mc reads literally is never made (a `$PROJECT` directory nobody meant), and
    // why it is missing is said (reviews H61-9, H62-2); one that exists is used as it is named.
    const literal = join(t.work, "code", "$PROJECT");
    const v = t.manager({ sessionLayouts: [layout("var", [["t", "pwd > here.txt"]], literal)] });
    await expect(v.startAllSessions({ missingDirs: "create" })).rejects.toMatchObject({
      code: "LAYOUT_INVALID",
      message: expect.stringContaining(`does not exist: ${literal} ("$PROJECT" is not expanded`),
      // The option just given is not offered again (review H74-8).
      hint: expect.stringMatching(/or pass --missing-dirs skip; nothing was started$/),
    });
    expect(existsSync(join(t.work, "code"))).toBe(false);
    mkdirSync(literal, { recursive: true });
    await v.startAllSessions();
    await waitFor(
      () => v.checkAllSessionsStatus(),
      (r) => r.summary.allFinished,
    );
    expect(readFileSync(join(literal, "here.txt"), "utf8").trim()).toBe(literal);
    await v.killAllSessions();
    const warnings: string[] = [];
    const s = t.manager({
      sessionLayouts: [
        {
          layoutName: "sk",
          layoutTabs: [
            { tabName: "ok", startDir: t.work, command: "true" },
            { tabName: "gone", startDir: join(t.work, "nope"), command: "true" },
          ],
        },
      ],
    });
    const [started] = await s.startAllSessions({ missingDirs: "skip", onWarning: (w) => warnings.push(w) });
    expect(started!.tabs).toBe(1);
    expect(warnings.join("\n")).toContain('skipped tab "gone"');
    await s.killAllSessions();
    // A dangling link or a path under a file cannot be made: START_FAILED naming it, no session (H5-15).
    writeFileSync(join(t.work, "afile"), "");
    symlinkSync(join(t.work, "nowhere", "x"), join(t.work, "dangle"));
    for (const bad of [join(t.work, "dangle"), join(t.work, "afile", "sub")]) {
      const b = t.manager({ sessionLayouts: [layout("bad", [["t", "true"]], bad)] });
      await expect(b.startAllSessions({ missingDirs: "create" })).rejects.toMatchObject({
        code: "START_FAILED",
        message: expect.stringContaining(`could not create the start directory ${bad}`),
      });
      expect(t.sessions()).not.toContain("bad");
    }
    // A tab whose dependency is skipped would wait forever: refused before anything starts (H5-12).
    const dep = t.manager({
      sessionLayouts: [
        {
          layoutName: "dep",
          layoutTabs: [
            { tabName: "db", startDir: join(t.work, "nope"), command: "true" },
            { tabName: "app", startDir: t.work, command: "true", dependsOn: ["db"] },
          ],
        },
      ],
    });
    await expect(dep.startAllSessions({ missingDirs: "skip" })).rejects.toMatchObject({
      code: "USAGE",
      message: expect.stringContaining('depends on "db", which this run leaves out'),
    });
    expect(t.sessions()).not.toContain("dep");
  });

  it("a directory that vanished after planning fails the tab visibly instead of running elsewhere", async () => {
    const dir = join(t.work, "vanishing");
    mkdirSync(dir);
    const hook: Host = {
      ...t.host,
      run: async (cmd: Command, o) => {
        if (cmd.args.includes("source-file")) execFileSync("rmdir", [dir]);
        return t.host.run(cmd, o);
      },
    };
    const m = t.manager({ sessionLayouts: [layout("van", [["t", "touch ran-here"]], dir)], host: hook });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(r.sessions[0]!.tabs[0]).toMatchObject({
      state: "exited",
      exitCode: 126,
      error: expect.stringContaining("start directory"),
    });
    expect(existsSync(join(process.cwd(), "ran-here"))).toBe(false);
    await m.killAllSessions();
  });

  it("pins the server: inside a tmux attached to another server, the run records that server's socket", async () => {
    const { pinSocket } = await import("../src/index.js");
    expect(pinSocket({}, { TMUX: "/tmp/other/sock,123,0" })).toEqual({ socket: { path: "/tmp/other/sock" } });
    expect(pinSocket({ socket: "x" }, { TMUX_TMPDIR: "/run/t" }).socket).toEqual({
      path: `/run/t/tmux-${process.getuid?.() ?? 0}/x`,
    });
    expect(pinSocket({}, {}).socket).toEqual({ path: `/tmp/tmux-${process.getuid?.() ?? 0}/default` });
  });
});

describe("tmux: tabs as jobs (dependsOn, readiness, failure propagation)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("a tab starts only once the tabs it depends on are ready: by file, by port, and at once", async () => {
    const { schedule } = await import("@mc/core");
    const log = join(t.work, "order.log");
    const stamp = (what: string) => `echo ${what} $(date +%s.%N) >> '${log}'`;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "jobs",
          layoutTabs: [
            {
              tabName: "db",
              startDir: t.work,
              command: `${stamp("db")}; sleep 0.4; touch db.ready; sleep 30`,
              readiness: { file: "db.ready", timeoutSeconds: 10 },
            },
            {
              tabName: "api",
              startDir: t.work,
              command: `${stamp("api")}; sleep 0.3; exec python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", ${port})); s.listen(); time.sleep(30)'`,
              dependsOn: ["db"],
              readiness: { port, timeoutSeconds: 10 },
            },
            { tabName: "web", startDir: t.work, command: `${stamp("web")}; sleep 30`, dependsOn: ["api"] },
            { tabName: "free", startDir: t.work, command: `${stamp("free")}; sleep 30` },
          ],
        },
      ],
    });
    await m.startAllSessions();
    expect(m.managed[0]!.pendingTabs).toEqual([1, 2]);
    const events: string[] = [];
    await schedule(m, { pollMs: 100, onEvent: (e) => events.push(`${e.type}:${e.tab}`) });
    // schedule() returns once web's pane is started; its command writes its stamp a moment later.
    await waitFor(
      async () => readFileSync(log, "utf8"),
      (text) => /^web /m.test(text),
      10_000,
    );
    const order = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((x) => x[0]);
    expect(order.indexOf("api")).toBeGreaterThan(order.indexOf("db"));
    expect(order.indexOf("web")).toBeGreaterThan(order.indexOf("api"));
    expect(events).toEqual(
      expect.arrayContaining(["tab-ready:db", "tab-started:api", "tab-ready:api", "tab-started:web"]),
    );
    expect(events.indexOf("tab-ready:db")).toBeLessThan(events.indexOf("tab-started:api"));
    await m.killAllSessions();
  });

  it("one at a time: a tab that is not ready in time fails and closes after the next tab opened; the queue runs on (review H44-6)", async () => {
    const { schedule } = await import("@mc/core");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "queue",
          layoutTabs: [
            {
              tabName: "db",
              startDir: t.work,
              command: "sleep 30",
              readiness: { file: "db.never", timeoutSeconds: 0.5 },
            },
            { tabName: "x", startDir: t.work, command: "touch ran-x" },
            { tabName: "y", startDir: t.work, command: "touch ran-y" },
            { tabName: "z", startDir: t.work, command: "touch ran-z", dependsOn: ["db"] },
          ],
        },
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    await schedule(m, { pollMs: 100, maxParallel: 1, closeFinished: true, untilDone: true });
    const r = await m.checkAllSessionsStatus();
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([
      ["db", "killed"],
      ["x", "exited"],
      ["y", "exited"],
      ["z", "skipped"],
    ]);
    expect(r.sessions[0]!.tabs[0]!.error).toBe("not ready within 0.5 s");
    expect(["x", "y", "z"].map((n) => existsSync(join(t.work, `ran-${n}`)))).toEqual([true, true, false]);
    await m.killAllSessions();
  });

  it("one at a time, closing finished tabs: a finished window stays while tabs wait, so closing the running one by hand loses no tab (review HR82-2)", async () => {
    const { schedule } = await import("@mc/core");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "hr822",
          layoutTabs: [
            { tabName: "t0", startDir: t.work, command: "true" },
            { tabName: "stuck", startDir: t.work, command: "sleep 300" },
            { tabName: "t2", startDir: t.work, command: "touch ran-t2" },
            { tabName: "t3", startDir: t.work, command: "touch ran-t3" },
          ],
        },
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    const scheduled = schedule(m, { pollMs: 100, maxParallel: 1, closeFinished: true, untilDone: true });
    await waitFor(
      () => m.checkAllSessionsStatus({ processes: false }),
      (r) => r.sessions[0]!.tabs[1]!.state === "running",
    );
    // Give the scheduler a few looks at stuck running (it used to close t0 then).
    await new Promise((r) => setTimeout(r, 500));
    t.tmux("kill-window", "-t", `=${m.managed[0]!.name}:stuck`);
    await scheduled;
    const r = await m.checkAllSessionsStatus({ processes: false });
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([
      ["t0", "exited"],
      ["stuck", "killed"],
      ["t2", "exited"],
      ["t3", "exited"],
    ]);
    expect(["t2", "t3"].map((n) => existsSync(join(t.work, `ran-${n}`)))).toEqual([true, true]);
    await m.killAllSessions();
  });

  it("one at a time: a tab not ready in time is closed, its command ended, before the next tab opens (review HR82-6)", async () => {
    const { schedule } = await import("@mc/core");
    const log = join(t.work, "hr826.log");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "overlap",
          layoutTabs: [
            { tabName: "first", startDir: t.work, command: "true" },
            {
              tabName: "deaf",
              startDir: t.work,
              // Ignores the hang-up: only the sweep's TERM ends it.
              command: `trap '' HUP; while :; do echo "alive $(date +%s.%N)" >> ${log}; sleep 0.05; done`,
              readiness: { file: "never.ready", timeoutSeconds: 0.5 },
            },
            { tabName: "next", startDir: t.work, command: `echo "next $(date +%s.%N)" >> ${log}` },
          ],
        },
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    await schedule(m, { pollMs: 100, maxParallel: 1, untilDone: true });
    const lines = readFileSync(log, "utf8").trim().split("\n");
    const next = Number(lines.find((l) => l.startsWith("next "))!.split(" ")[1]);
    const lastAlive = Math.max(
      ...lines.filter((l) => l.startsWith("alive ")).map((l) => Number(l.split(" ")[1])),
    );
    expect(lastAlive).toBeLessThan(next);
    const r = await m.checkAllSessionsStatus({ processes: false });
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([
      ["first", "exited"],
      ["deaf", "killed"],
      ["next", "exited"],
    ]);
    await m.killAllSessions();
  });

  it("a tab that is not ready in time fails, and the tabs that depend on it never start", async () => {
    const { schedule } = await import("@mc/core");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "broken",
          layoutTabs: [
            {
              tabName: "never",
              startDir: t.work,
              command: "sleep 30",
              readiness: { file: "never.ready", timeoutSeconds: 0.5 },
            },
            { tabName: "after", startDir: t.work, command: "touch ran-after", dependsOn: ["never"] },
          ],
        },
      ],
    });
    await m.startAllSessions();
    await schedule(m, { pollMs: 100 });
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    const [never, after] = r.sessions[0]!.tabs;
    expect(never).toMatchObject({ state: "killed", error: "not ready within 0.5 s" });
    expect(after).toMatchObject({
      state: "skipped",
      exitCode: 125,
      error: expect.stringContaining('"never"'),
    });
    expect(existsSync(join(t.work, "ran-after"))).toBe(false);
    await m.killAllSessions();
  });

  it("a waiting tab whose start went through though its answer was lost is not opened a second time", async () => {
    const { schedule } = await import("@mc/core");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "lost",
          layoutTabs: [
            { tabName: "a", startDir: t.work, command: "sleep 30" },
            { tabName: "b", startDir: t.work, command: "echo b >> lost-b.log; sleep 30" },
          ],
        },
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    expect(m.managed[0]!.pendingTabs).toEqual([1]);
    // Tab b's start runs (its window opens, its wrapper writes its record) but, as when ssh drops right
    // after the remote command ran, the scheduler never learns it: b is still listed as waiting.
    await m.startTab("lost", 1);
    m.managed[0]!.pendingTabs = [1];
    await waitFor(
      () => m.checkAllSessionsStatus({ processes: false }),
      (r) => r.sessions[0]!.tabs[1]!.state === "running",
    );
    const events: string[] = [];
    await schedule(m, { pollMs: 100, onEvent: (e) => events.push(`${e.type}:${e.tab}`) });
    expect(t.tmux("list-windows", "-t", "=lost:", "-F", "#{window_name}").trim().split("\n")).toEqual([
      "a",
      "b",
    ]);
    expect(readFileSync(join(t.work, "lost-b.log"), "utf8")).toBe("b\n");
    expect(events).toEqual(["tab-started:b"]);
    expect(m.managed[0]!.pendingTabs ?? []).toEqual([]);
    await m.killAllSessions();
  });

  it("a tmux server that does not answer fails status and kill within the answer timeout instead of hanging them", async () => {
    const stuck = privateTmux();
    try {
      const m = new TmuxLocalManager({
        sessionLayouts: [layout("stuck", [["t", "sleep 30"]], stuck.work)],
        host: stuck.host,
        socket: stuck.socket,
        answerTimeoutMs: 1000,
      });
      await m.startAllSessions();
      const pid = Number(stuck.tmux("display-message", "-p", "#{pid}").trim());
      process.kill(pid, "SIGSTOP");
      try {
        const t0 = Date.now();
        const r = await m.checkAllSessionsStatus({ processes: false });
        expect(Date.now() - t0).toBeLessThan(8000);
        expect(r.sessions[0]!.error).toMatch(/did not answer within 1 s/);
        // Not "gone": its tab's command runs (review H27-4); the machine is said not to have answered.
        expect(r.sessions[0]).toMatchObject({ exists: true, tabs: [{ state: "running" }] });
        expect(r.machines).toEqual([expect.objectContaining({ machine: "local", reachable: false })]);
        const k = await m.killSession("stuck");
        expect(k.ok).toBe(false);
        expect(k.error).toMatch(/did not answer within 1 s/);
        expect(Date.now() - t0).toBeLessThan(15_000);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      expect((await m.killSession("stuck")).ok).toBe(true);
    } finally {
      stuck.stop();
    }
  });

  it("a rerun made by another command is seen by a process already watching (it kept the finished record)", async () => {
    const flag = join(t.work, "seen-again");
    const layout = {
      layoutName: "seen",
      layoutTabs: [{ tabName: "f", startDir: t.work, command: `[ -e '${flag}' ] && sleep 30; exit 1` }],
    };
    const watcher = t.manager({ sessionLayouts: [layout] });
    await watcher.startAllSessions();
    await waitFor(
      () => watcher.checkAllSessionsStatus({ processes: false }),
      (r) => r.sessions[0]!.tabs[0]!.state === "exited",
    );
    writeFileSync(flag, "");
    // Another terminal: `sessions rerun seen/f`.
    const other = t.manager({ sessionLayouts: [layout] });
    await other.load(watcher.runId);
    expect(await other.rerunTab("seen", 0)).toBe(2);
    const r = await watcher.checkAllSessionsStatus({ processes: false });
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ state: "running", attempt: 2 });
    expect(r.summary.allFinished).toBe(false);
    await watcher.killAllSessions();
  });

  it("a rerun that waits for the tool's lock while the session is killed says the session is gone (review H46-4)", async () => {
    // The server keeps another session: the killed one's server stays up (its own last session would end it).
    t.tmux("new-session", "-d", "-s", "keeper46", "sleep 60");
    const m = t.manager({ sessionLayouts: [layout("raced", [["t", "exit 3"]], t.work)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus({ processes: false }),
      (r) => r.sessions[0]!.tabs[0]!.state === "exited",
    );
    // A kill holds the tool's lock (as `sessions kill` does for the tool's kill) while the rerun checks
    // the tab and goes to open it: the session is gone by the time the rerun has the lock.
    const backend = (
      m as unknown as { machineSet: { all: () => { backend: { lockName: string } }[] } }
    ).machineSet.all()[0]!.backend;
    const held = await m.hostOf("local").lock(backend.lockName);
    const rerun = m.rerunTab("raced", 0).then(
      () => undefined,
      (x: unknown) => x,
    );
    await new Promise((r) => setTimeout(r, 1500));
    t.tmux("kill-session", "-t", "=raced");
    await held();
    const e = await rerun;
    expect(isMcError(e, "SESSION_NOT_FOUND"), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/session "raced" is gone/);
    t.tmux("kill-session", "-t", "=keeper46");
  });

  it("a rerun whose wrapper never says it started is not reported as started (review H9-7)", async () => {
    const m = t.manager({ sessionLayouts: [layout("mute", [["t", "exit 3"]], t.work)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus({ processes: false }),
      (r) => r.sessions[0]!.tabs[0]!.state === "exited",
    );
    // The wrapper of the next attempt runs, but never writes its record (as a wrapper stuck before it).
    writeFileSync(String(m.managed[0]!.data!.tabScript), "exec sleep 30\n");
    const e = await m.rerunTab("mute", 0).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isMcError(e, "TIMEOUT"), String(e)).toBe(true);
    expect((e as Error).message).toMatch(
      /attempt 2 of tab "t" was opened, but its wrapper did not say it started/,
    );
    await m.killAllSessions();
  }, 30_000);

  it("an abandoned tab that a rerun and a scheduler start at the same moment opens once (review H9-13)", async () => {
    const { selfIdentity } = await import("@mc/core");
    for (let round = 0; round < 4; round++) {
      const name = `once${round}`;
      const layout = {
        layoutName: name,
        layoutTabs: ["a", "b"].map((n) => ({ tabName: n, startDir: t.work, command: "sleep 30" })),
      };
      const m = t.manager({ sessionLayouts: [layout] });
      await m.startAllSessions({ initialTabs: 1 });
      // The run that was to open b has ended: b reads abandoned, for a rerun from another terminal.
      const other = t.manager({ sessionLayouts: [layout] });
      await other.load(m.runId);
      other.managed[0]!.scheduler = { ...selfIdentity()!, pid: 4_000_000 };
      // Rounds 0-1: the rerun first, then the scheduler, whose copy of the record still lists b as waiting;
      // rounds 2-3: both at the same moment.
      const both: [Promise<boolean>, Promise<number>] =
        round < 2
          ? await other.rerunTab(name, 1).then(
              (n) => [m.startTab(name, 1), Promise.resolve(n)],
              (e: unknown) => [m.startTab(name, 1), Promise.reject(e)],
            )
          : [m.startTab(name, 1), other.rerunTab(name, 1)];
      const [scheduled, rerun] = await Promise.allSettled(both);
      const said = JSON.stringify([scheduled, rerun]);
      const windows = t.tmux("list-windows", "-t", `=${name}:`, "-F", "#{window_name}").trim().split("\n");
      expect(windows, `round ${round}: ${said}`).toEqual(["a", "b"]);
      // Exactly one of them opened it; the other said so (the scheduler: false; the rerun: not finished).
      const opened = [scheduled.status === "fulfilled" && scheduled.value, rerun.status === "fulfilled"];
      expect(opened.filter(Boolean).length, said).toBe(1);
      await m.killAllSessions();
    }
  });

  it("two commands that each take a different tab off the waiting list at once keep both changes", async () => {
    const layout = {
      layoutName: "both",
      layoutTabs: ["a", "b", "c"].map((n) => ({ tabName: n, startDir: t.work, command: "sleep 30" })),
    };
    const m = t.manager({ sessionLayouts: [layout] });
    await m.startAllSessions({ initialTabs: 1 });
    // A second command (another terminal's rerun) read the record while both tabs still waited.
    const other = t.manager({ sessionLayouts: [layout] });
    await other.load(m.runId);
    expect(other.managed[0]!.pendingTabs).toEqual([1, 2]);
    await m.startTab("both", 1);
    await other.startTab("both", 2);
    await other.noteTabError("both", 2, "a note");
    const saved = t.manager({ sessionLayouts: [layout] });
    await saved.load(m.runId);
    expect(saved.managed[0]!.pendingTabs ?? []).toEqual([]);
    expect(saved.managed[0]!.scheduler).toBeUndefined();
    expect(saved.managed[0]!.tabErrors).toEqual({ 2: "a note" });
    // Each command's copy follows the record too.
    expect(other.managed[0]!.pendingTabs ?? []).toEqual([]);
    await m.killAllSessions();
  });

  it("a waiting tab already failed for good (its dependency record written, not saved) is neither opened nor reported started", async () => {
    const { schedule } = await import("@mc/core");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "dead",
          layoutTabs: [
            { tabName: "a", startDir: t.work, command: "sleep 30" },
            { tabName: "b", startDir: t.work, command: "echo b >> dead-b.log; sleep 30" },
          ],
        },
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    // A scheduler wrote b's "a tab it depends on failed" record (exit 125) and ended before it saved.
    await m.failPendingTab("dead", 1, "not started: a tab it depends on failed");
    m.managed[0]!.pendingTabs = [1];
    const events: string[] = [];
    await schedule(m, { pollMs: 100, onEvent: (e) => events.push(`${e.type}:${e.tab}`) });
    expect(t.tmux("list-windows", "-t", "=dead:", "-F", "#{window_name}").trim().split("\n")).toEqual(["a"]);
    expect(existsSync(join(t.work, "dead-b.log"))).toBe(false);
    expect(events).toEqual([]);
    expect(m.managed[0]!.pendingTabs ?? []).toEqual([]);
    const r = await m.checkAllSessionsStatus({ processes: false });
    expect(r.sessions[0]!.tabs[1]).toMatchObject({ state: "skipped", exitCode: 125 });
    await m.killAllSessions();
  });
});

describe("tmux: what a tab does once its command ended (--exit)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("keep leaves the finished pane (and its output) on screen; close closes the tab; both keep the exit code", async () => {
    const { TmuxLocalManager } = await import("../src/index.js");
    const mk = (exitMode: "keep" | "close", name: string) =>
      new TmuxLocalManager({
        sessionLayouts: [
          layout(
            name,
            [
              ["a", "echo visible-output; exit 4"],
              ["b", "sleep 30"],
            ],
            t.work,
          ),
        ],
        host: t.host,
        socket: t.socket,
        exitMode,
      });
    const keep = mk("keep", "kp");
    await keep.startAllSessions();
    const r = await waitFor(
      () => keep.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 4 });
    // The tab's record (what status reads) is written before its process ends; tmux marks the pane dead
    // a moment later, which on a loaded machine is after the status above.
    const panes = await waitFor(
      async () =>
        t.tmux("list-panes", "-s", "-t", "=kp", "-F", "#{window_name} #{pane_dead}").trim().split("\n"),
      (x) => x.includes("a 1"),
    );
    expect(panes).toContain("a 1");
    const id = String(keep.managed[0]!.data?.sessionId);
    // tmux draws the pane's output a moment after the process wrote it.
    const shown = await waitFor(
      async () => t.tmux("capture-pane", "-p", "-S", "-", "-t", `${id}:a`),
      (x) => x.includes("visible-output"),
    );
    expect(shown).toContain("visible-output");
    await keep.killAllSessions();
    const close = mk("close", "cl");
    await close.startAllSessions();
    const c = await waitFor(
      () => close.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    expect(c.sessions[0]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 4 });
    await waitFor(
      async () => t.tmux("list-windows", "-t", "=cl", "-F", "#{window_name}"),
      (w) => !w.includes("a"),
    );
    expect(t.tmux("list-windows", "-t", "=cl", "-F", "#{window_name}").trim()).toBe("b");
    await close.killAllSessions();
  });

  it("close closes the tab also where the user's tmux keeps dead panes (remain-on-exit on: review H77-6)", async () => {
    const { TmuxLocalManager } = await import("../src/index.js");
    t.tmux("set-option", "-g", "-w", "remain-on-exit", "on");
    try {
      const close = new TmuxLocalManager({
        sessionLayouts: [
          layout(
            "cl2",
            [
              ["a", "exit 0"],
              ["b", "sleep 30"],
            ],
            t.work,
          ),
        ],
        host: t.host,
        socket: t.socket,
        exitMode: "close",
      });
      await close.startAllSessions();
      await waitFor(
        () => close.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.state === "exited",
      );
      const windows = await waitFor(
        async () => t.tmux("list-windows", "-t", "=cl2", "-F", "#{window_name}").trim(),
        (w) => w === "b",
        5000,
      );
      expect(windows).toBe("b");
      await close.killAllSessions();
    } finally {
      t.tmux("set-option", "-g", "-w", "remain-on-exit", "off");
    }
  });
});

describe("tmux: applying a layout to a running session (merge-skip, merge-overwrite)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());
  const windows = (id: string) => t.tmux("list-windows", "-t", id, "-F", "#{window_name}").trim().split("\n");

  it("merge-skip adds the tabs the session lacks and keeps the rest; merge-overwrite restarts the changed ones", async () => {
    const first = t.manager({
      sessionLayouts: [
        layout(
          "mg",
          [
            ["a", "sleep 60"],
            ["b", "sleep 61"],
            ["extra", "sleep 62"],
          ],
          t.work,
        ),
      ],
    });
    await first.startAllSessions();
    const id = String(first.managed[0]!.data?.sessionId);
    const pidOf = async (m: typeof first, tab: string) =>
      (await m.checkAllSessionsStatus()).sessions[0]!.tabs.find((x) => x.tabName === tab)?.pid;
    const aPid = await waitFor(
      () => pidOf(first, "a"),
      (p) => p !== undefined,
    );

    const skip = t.manager({
      sessionLayouts: [
        layout(
          "mg",
          [
            ["a", "sleep 600"],
            ["c", "sleep 63"],
          ],
          t.work,
        ),
      ],
    });
    const plan = await skip.plan({ onConflict: "merge-skip" });
    expect(plan[0]).toMatchObject({ action: "merge", tabActions: ["keep", "keep", "keep", "create"] });
    // When the session leaves the first run's record, the second run's already holds it: in between no
    // record did (a watch of it from another terminal ended, "not managed"; a crash there lost it).
    const store = (skip as unknown as { store: { drop: (...a: unknown[]) => Promise<void> } }).store;
    const drop = store.drop.bind(store);
    const heldWhenDropped: boolean[] = [];
    store.drop = async (...a: unknown[]) => {
      const saved = await skip.listSaved();
      heldWhenDropped.push(saved.some((r) => r.id === skip.runId && r.sessions.some((x) => x.name === "mg")));
      return drop(...a);
    };
    // And before it opens a tab, the second run's record holds the session with that tab: a run killed
    // just after the tab opened left a tab no record knew (review H35-4).
    const backend = (
      skip as unknown as {
        machineSet: { all: () => { backend: { startTab: (...a: unknown[]) => Promise<unknown> } }[] };
      }
    ).machineSet.all()[0]!.backend;
    const startTab = backend.startTab.bind(backend);
    const knownWhenOpened: string[][] = [];
    backend.startTab = async (...a: unknown[]) => {
      const saved = (await skip.listSaved()).find((r) => r.id === skip.runId);
      const held = saved?.sessions.find((x) => x.name === "mg");
      knownWhenOpened.push(held?.layout.layoutTabs.map((x) => x.tabName) ?? []);
      return startTab(...a);
    };
    const [s] = await skip.startAllSessions({ onConflict: "merge-skip" });
    expect(heldWhenDropped).toEqual([true]);
    expect(knownWhenOpened).toEqual([["a", "b", "extra", "c"]]);
    expect(s).toMatchObject({ name: "mg", action: "merge", tabActions: ["keep", "keep", "keep", "create"] });
    expect(windows(id)).toEqual(["a", "b", "extra", "c"]);
    const r = await waitFor(
      () => skip.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([
      ["a", "running"],
      ["b", "running"],
      ["extra", "running"],
      ["c", "running"],
    ]);
    expect(await pidOf(skip, "a")).toBe(aPid);
    // The session now belongs to the second run: the first run's record no longer lists it.
    expect((await first.listSaved()).map((x) => x.id)).toEqual([skip.runId]);

    const over = t.manager({
      sessionLayouts: [
        layout(
          "mg",
          [
            ["a", "sleep 600"],
            ["b", "sleep 61"],
          ],
          t.work,
        ),
      ],
    });
    const [o] = await over.startAllSessions({ onConflict: "merge-overwrite" });
    expect(o!.tabActions).toEqual(["restart", "keep", "keep", "keep"]);
    const after = await waitFor(
      () => over.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "running" && x.sessions[0]!.tabs[0]!.pid !== aPid,
    );
    const a = after.sessions[0]!.tabs[0]!;
    expect(a).toMatchObject({ tabName: "a", command: "sleep 600", state: "running" });
    expect(a.processes.some((p) => p.command === "sleep 600")).toBe(true);
    // In its old place (H20-18: it was moved last).
    expect(windows(id)).toEqual(["a", "b", "extra", "c"]);
    await over.killAllSessions();
  });

  it("a tab a failed merge recorded but never opened is opened by the next merge-skip, not counted kept (review H42-2)", async () => {
    const file = (tabs: [string, string][]) => t.manager({ sessionLayouts: [layout("nv", tabs, t.work)] });
    const first = file([["a", "sleep 600"]]);
    await first.startAllSessions();
    const id = String(first.managed[0]!.data?.sessionId);
    const broken = file([
      ["a", "sleep 600"],
      ["x", "sleep 601"],
      ["y", "sleep 602"],
    ]);
    // The merge ends (as a kill -9 would) after its record holds x and y, before either opens.
    const backend = (
      broken as unknown as { machineSet: { all: () => { backend: { startTab: () => Promise<unknown> } }[] } }
    ).machineSet.all()[0]!.backend;
    backend.startTab = () => Promise.reject(new Error("the merge ended here"));
    await expect(broken.startAllSessions({ onConflict: "merge-skip" })).rejects.toThrow();
    expect(windows(id)).toEqual(["a"]);
    const again = file([
      ["a", "sleep 600"],
      ["x", "sleep 601"],
      ["y", "sleep 602"],
    ]);
    expect((await again.plan({ onConflict: "merge-skip" }))[0]!.tabActions).toEqual([
      "keep",
      "create",
      "create",
    ]);
    const [s] = await again.startAllSessions({ onConflict: "merge-skip" });
    expect(s!.tabActions).toEqual(["keep", "create", "create"]);
    expect(windows(id)).toEqual(["a", "x", "y"]);
    const r = await waitFor(
      () => again.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    expect(r.sessions[0]!.tabs.map((x) => x.command)).toEqual(["sleep 600", "sleep 601", "sleep 602"]);
    // A tab that ran and ended is kept (rerun is how it runs again), the others too.
    t.tmux("kill-window", "-t", `${id}:x`);
    await waitFor(
      () => again.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[1]!.state !== "running",
    );
    const third = file([
      ["a", "sleep 600"],
      ["x", "sleep 601"],
    ]);
    expect((await third.plan({ onConflict: "merge-skip" }))[0]!.tabActions).toEqual(["keep", "keep", "keep"]);
    await again.killAllSessions();
  });

  it("a merge-overwrite ended while it restarts a tab leaves that tab recorded as it ran; the next merge-overwrite restarts it (review H65-1)", async () => {
    const file = (a: string) =>
      t.manager({
        sessionLayouts: [
          layout(
            "hr",
            [
              ["a", a],
              ["b", "sleep 611"],
            ],
            t.work,
          ),
        ],
      });
    const first = file("sleep 610");
    await first.startAllSessions();
    const id = String(first.managed[0]!.data?.sessionId);
    await waitFor(
      () => first.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    for (const end of ["closeTab", "startTab"] as const) {
      // The merge ends (as a kill -9 would) once its record is written: before the old attempt of "a" is
      // closed, then after it is closed and its record moved, before the new one opens.
      const broken = file("sleep 612");
      const backend = (
        broken as unknown as {
          machineSet: { all: () => { backend: Record<string, () => Promise<unknown>> }[] };
        }
      ).machineSet.all()[0]!.backend;
      backend[end] = () => Promise.reject(new Error("the merge ended here"));
      await expect(broken.startAllSessions({ onConflict: "merge-overwrite" })).rejects.toThrow();
      const saved = (await broken.listSaved())
        .find((r) => r.id === broken.runId)!
        .sessions.find((x) => x.name === "hr")!;
      const rec = join(saved.runDir, "tab-0.json");
      if (end === "closeTab") {
        // Still the old attempt, recorded as such: never its pid and log under the new command.
        expect(saved.layout.layoutTabs[0]!.command).toBe("sleep 610");
        expect(existsSync(rec)).toBe(true);
      } else {
        // Closed, its record moved: the new tab, not started (neither pane nor record).
        expect(saved.layout.layoutTabs[0]!.command).toBe("sleep 612");
        expect(existsSync(rec)).toBe(false);
        expect(windows(id)).toEqual(["b"]);
      }
    }
    const again = file("sleep 612");
    const [g] = await again.startAllSessions({ onConflict: "merge-overwrite" });
    // Opened again either way: restarted (it ran the old command) or created (it had no pane and no record).
    expect(["restart", "create"]).toContain(g!.tabActions![0]);
    const st = await waitFor(
      () => again.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.processes.some((p) => p.command === "sleep 612"),
    );
    expect(st.sessions[0]!.tabs.map((x) => x.state)).toEqual(["running", "running"]);
    expect(windows(id).sort()).toEqual(["a", "b"]);
    await again.killAllSessions();
  });

  it("a merge done in full whose old run record cannot be rewritten is said as a warning, not a failed start (review H65-3)", async () => {
    const file = (b: string) =>
      t.manager({
        sessionLayouts: [
          layout(
            "hw",
            [
              ["a", "sleep 620"],
              ["b", b],
            ],
            t.work,
          ),
        ],
      });
    const first = file("sleep 621");
    await first.startAllSessions();
    const merging = file("sleep 622");
    const store = (merging as unknown as { store: { drop: () => Promise<void> } }).store;
    store.drop = () => Promise.reject(new Error("EPERM: operation not permitted, unlink 'x.json'"));
    const warnings: string[] = [];
    const [m] = await merging.startAllSessions({
      onConflict: "merge-overwrite",
      onWarning: (w) => warnings.push(w),
    });
    expect(m!.tabActions).toEqual(["keep", "restart"]);
    expect(warnings.join("\n")).toMatch(
      /session "hw" was merged into this run, but the record of run \S+ that held it could not be updated \(EPERM/,
    );
    await waitFor(
      () => merging.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[1]!.processes.some((p) => p.command === "sleep 622"),
    );
    await merging.killAllSessions();
  });

  it("a local remove of a file it may not unlink says so, not ENOTDIR (review H65-3)", async (ctx) => {
    const { localHost } = await import("@mc/core");
    const f = join(t.work, "immutable.json");
    writeFileSync(f, "{}");
    try {
      // An immutable file: even root may not unlink it (where the file system has the attribute).
      execFileSync("chattr", ["+i", f], { stdio: "ignore" });
    } catch {
      ctx.skip();
    }
    try {
      const err = await localHost()
        .remove(f)
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(String(err)).toMatch(/EPERM/);
      expect(String(err)).not.toMatch(/ENOTDIR|scandir/);
      expect(existsSync(f)).toBe(true);
    } finally {
      execFileSync("chattr", ["-i", f]);
    }
  });

  it("merge-overwrite where every tab changed keeps the session (tabs restart one at a time); of a one-tab session it is refused, nothing touched", async () => {
    const two = (c: string) =>
      t.manager({
        sessionLayouts: [
          layout(
            "all",
            [
              ["a", `sleep 60${c}`],
              ["b", `sleep 61${c}`],
            ],
            t.work,
          ),
        ],
      });
    const first = two("0");
    await first.startAllSessions();
    const over = two("1");
    const [o] = await over.startAllSessions({ onConflict: "merge-overwrite" });
    expect(o!.tabActions).toEqual(["restart", "restart"]);
    const after = await waitFor(
      () => over.checkAllSessionsStatus(),
      (x) => x.sessions[0]?.tabs.every((tab) => tab.state === "running") ?? false,
    );
    expect(after.sessions[0]!.tabs.map((x) => x.command)).toEqual(["sleep 601", "sleep 611"]);
    expect(windows(String(over.managed[0]!.data?.sessionId))).toEqual(["a", "b"]);
    const one = (c: string) => t.manager({ sessionLayouts: [layout("one", [["a", c]], t.work)] });
    await one("sleep 70").startAllSessions();
    const before = windows("=one");
    await expect(one("sleep 71").startAllSessions({ onConflict: "merge-overwrite" })).rejects.toMatchObject({
      code: "USAGE",
      message: expect.stringContaining("only tab"),
    });
    expect(windows("=one")).toEqual(before);
    await over.killAllSessions();
    t.tmux("kill-session", "-t", "=one");
  });

  it("restart ends what the replaced tabs left running beyond tmux's reach, as kill does (outside review H5-18)", async () => {
    const pids = () => {
      try {
        return execFileSync("pgrep", ["-f", "sleep 97.25"], { encoding: "utf8" }).trim();
      } catch {
        return "";
      }
    };
    const first = t.manager({
      sessionLayouts: [layout("rs", [["a", "nohup sleep 97.25 >/dev/null 2>&1 & sleep 60"]], t.work)],
    });
    await first.startAllSessions();
    await waitFor(
      async () => pids(),
      (p) => p !== "",
    );
    const second = t.manager({ sessionLayouts: [layout("rs", [["a", "sleep 61"]], t.work)] });
    const [r] = await second.startAllSessions({ onConflict: "restart" });
    expect(r!.action).toBe("replace");
    expect(
      await waitFor(
        async () => pids(),
        (p) => p === "",
      ),
    ).toBe("");
    await second.killAllSessions();
  });

  it("a merge that would open a tab with dependsOn at once, or restart one under --max-parallel-tabs, is refused, nothing changed (review H37-1, H37-2); one that adds a tab under the cap leaves it to the scheduler (H59-3)", async () => {
    const first = t.manager({ sessionLayouts: [layout("mdep", [["a", "sleep 60"]], t.work)] });
    await first.startAllSessions();
    const id = String(first.managed[0]!.data?.sessionId);
    const withDep = t.manager({
      sessionLayouts: [
        {
          layoutName: "mdep",
          layoutTabs: [
            { tabName: "a", startDir: t.work, command: "sleep 60" },
            { tabName: "b", startDir: t.work, command: "echo b", dependsOn: ["a"] },
          ],
        },
      ],
    });
    await expect(withDep.startAllSessions({ onConflict: "merge-skip" })).rejects.toMatchObject({
      code: "USAGE",
      message: expect.stringContaining("has dependsOn, which a merge cannot wait for"),
    });
    const capped = t.manager({
      sessionLayouts: [
        layout(
          "mdep",
          [
            ["a", "sleep 60"],
            ["c", "sleep 61"],
          ],
          t.work,
        ),
      ],
    });
    const changed = t.manager({
      sessionLayouts: [
        layout(
          "mdep",
          [
            ["a", "sleep 62"],
            ["c", "sleep 61"],
          ],
          t.work,
        ),
      ],
    });
    // Restarting the session's only open window would end the session: refused, cap or not (review H63-6).
    await expect(
      changed.startAllSessions({ onConflict: "merge-overwrite", initialTabs: 1 }),
    ).rejects.toMatchObject({
      code: "USAGE",
      message: expect.stringContaining("its window is the session's only open one"),
    });
    expect(windows(id)).toEqual(["a"]);
    // The tab it adds waits for the run's scheduler, which keeps to the cap: nothing opens at once.
    const [m] = await capped.startAllSessions({ onConflict: "merge-skip", initialTabs: 1 });
    expect(m!.tabActions).toEqual(["keep", "create"]);
    expect(capped.managed[0]!.pendingTabs).toEqual([1]);
    expect(windows(id)).toEqual(["a"]);
    await capped.killAllSessions();
  });

  it("merge-overwrite under --max-parallel-tabs closes a changed tab and its scheduler reopens it in a free slot; a restart of the session's only open window is refused (review H63-6)", async () => {
    const { schedule } = await import("@mc/core");
    const file = (a: string, b: string) =>
      t.manager({
        sessionLayouts: [
          layout(
            "mcap",
            [
              ["a", a],
              ["b", b],
            ],
            t.work,
          ),
        ],
      });
    const first = file("exit 3", "sleep 2");
    await first.startAllSessions({ initialTabs: 2 });
    const id = String(first.managed[0]!.data?.sessionId);
    await waitFor(
      () => first.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    const over = file("sleep 603", "sleep 2");
    const [o] = await over.startAllSessions({ onConflict: "merge-overwrite", initialTabs: 1 });
    expect(o!.tabActions).toEqual(["restart", "keep"]);
    expect(o!.merge).toMatchObject({ restarted: 1, kept: 1, waiting: 0, added: 0 });
    // Closed now, waiting for a slot: b still holds the one the cap allows.
    expect(over.managed[0]!.pendingTabs).toEqual([0]);
    expect(windows(id)).toEqual(["b"]);
    const runDir = over.managed[0]!.runDir;
    expect(readdirSync(runDir).filter((f) => /^tab-0\.prev-\d+\.json$/.test(f))).toHaveLength(1);
    await schedule(over, { pollMs: 100, maxParallel: 1 });
    expect(over.managed[0]!.pendingTabs ?? []).toEqual([]);
    const st = await waitFor(
      () => over.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "running",
    );
    const [a, b] = st.sessions[0]!.tabs;
    expect(a).toMatchObject({ command: "sleep 603", state: "running" });
    expect(a!.processes.some((p) => p.command === "sleep 603")).toBe(true);
    // Opened only once b had ended: never two at once.
    expect(b).toMatchObject({ state: "exited", exitCode: 0 });
    expect(a!.startedAt!).toBeGreaterThanOrEqual(b!.endedAt! - 1000);
    // Both windows restarted under a cap: the first at once (it holds the session while the other's
    // closes), the other waits for a slot.
    const both = file("sleep 605", "sleep 3");
    const [bo] = await both.startAllSessions({ onConflict: "merge-overwrite", initialTabs: 1 });
    expect(bo!.tabActions).toEqual(["restart", "restart"]);
    expect(bo!.merge).toMatchObject({ restarted: 2, waiting: 0 });
    expect(both.managed[0]!.pendingTabs).toEqual([1]);
    expect(windows(id)).toEqual(["a"]);
    const running = (m: typeof both, cmd: string) =>
      waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.processes.some((p) => p.command === cmd),
      );
    await running(both, "sleep 605");
    // A restart of the session's only open window would end the session (closing it first): refused,
    // nothing changed, with or without a cap.
    const again = file("sleep 606", "sleep 3");
    for (const cap of [{ initialTabs: 1 }, {}])
      await expect(again.startAllSessions({ onConflict: "merge-overwrite", ...cap })).rejects.toMatchObject({
        code: "USAGE",
        message: expect.stringContaining("its window is the session's only open one"),
      });
    expect(windows(id)).toEqual(["a"]);
    await running(both, "sleep 605");
    await both.killAllSessions();
  });

  it("a merge never touches a session mc did not start", async () => {
    t.tmux("new-session", "-d", "-s", "theirs", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("theirs", [["x", "true"]], t.work)] });
    await expect(m.startAllSessions({ onConflict: "merge-skip" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    expect(windows("=theirs")).toHaveLength(1);
  });

  it("merge-overwrite of a waiting tab whose command changed leaves it waiting, with the new command: the merging run's scheduler opens it once (review H59-3)", async () => {
    const { schedule } = await import("@mc/core");
    const first = t.manager({
      sessionLayouts: [
        layout(
          "mw",
          [
            ["a", "sleep 600"],
            ["b", "sleep 601"],
          ],
          t.work,
        ),
      ],
    });
    await first.startAllSessions({ initialTabs: 1 });
    expect(first.managed[0]!.pendingTabs).toEqual([1]);
    const over = t.manager({
      sessionLayouts: [
        layout(
          "mw",
          [
            ["a", "sleep 600"],
            ["b", "sleep 602"],
          ],
          t.work,
        ),
      ],
    });
    const [o] = await over.startAllSessions({ onConflict: "merge-overwrite" });
    // It never ran: nothing to restart, and not opened beside the cap's tabs at once.
    expect(o!.tabActions).toEqual(["keep", "keep"]);
    expect(o!.merge).toEqual({
      added: 0,
      restarted: 0,
      kept: 1,
      waiting: 1,
      renewed: 1,
      dropped: 0,
      stale: 0,
    });
    expect(over.managed[0]!.pendingTabs).toEqual([1]);
    expect(windows("=mw")).toHaveLength(1);
    await schedule(over, { pollMs: 100 });
    expect(over.managed[0]!.pendingTabs ?? []).toEqual([]);
    expect(windows("=mw")).toHaveLength(2);
    const st = await waitFor(
      () => over.checkAllSessionsStatus(),
      (r) => r.sessions[0]!.tabs[1]!.state === "running",
    );
    expect(st.sessions[0]!.tabs[1]!.command).toBe("sleep 602");
    await over.killAllSessions();
  });

  it("a merge into a session whose tabs have panes is refused, nothing touched (pane records are numbered after the last tab)", async () => {
    const withPanes: LayoutConfig = {
      layoutName: "mp",
      layoutTabs: [
        { tabName: "a", startDir: t.work, command: "sleep 600", panes: [{ command: "sleep 601" }] },
        { tabName: "b", startDir: t.work, command: "sleep 602" },
      ],
    };
    const first = t.manager({ sessionLayouts: [withPanes] });
    await first.startAllSessions();
    const before = windows("=mp");
    for (const onConflict of ["merge-skip", "merge-overwrite"] as const) {
      const m = t.manager({ sessionLayouts: [layout("mp", [["c", "sleep 603"]], t.work)] });
      await expect(m.startAllSessions({ onConflict })).rejects.toMatchObject({
        code: "USAGE",
        message: expect.stringContaining('tab "a" has panes'),
      });
      expect(windows("=mp")).toEqual(before);
    }
    await first.killAllSessions();
  });
});

describe("tmux: panes (split-window, select-layout, per-pane records and logs)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux("set -g base-index 1\nset -g pane-base-index 1\n");
  });
  afterAll(() => t.stop());

  const paneLayout = (name: string, dependsOn?: string[]): LayoutConfig => {
    const sub = join(t.work, "sub dir");
    mkdirSync(sub, { recursive: true });
    return {
      layoutName: name,
      layoutTabs: [
        { tabName: "first", startDir: t.work, command: "sleep 0.3" },
        {
          tabName: "split",
          startDir: t.work,
          command: "echo left; exit 3",
          ...(dependsOn ? { dependsOn } : {}),
          layout: "even-horizontal",
          panes: [
            { command: "pwd; echo right; exit 0", startDir: sub, env: { WHO: "pane" } },
            { command: 'echo "$WHO"; sleep 30', split: "down", size: 5, focus: true, env: { WHO: "me" } },
            { split: "right" },
          ],
        },
      ],
    };
  };

  it("one window with four panes; each has its own exit code, directory, environment and log; focus as asked", async () => {
    const m = t.manager({ sessionLayouts: [paneLayout("pn")] });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => {
        const tabs = x.sessions[0]!.tabs;
        return tabs.length === 5 && [0, 1, 2, 4].every((i) => tabs[i]!.state === "exited");
      },
    );
    const rows = r.sessions[0]!.tabs.map((x) => [x.tabName, x.pane ?? null, x.state, x.exitCode ?? null]);
    expect(rows).toEqual([
      ["first", null, "exited", 0],
      ["split", 0, "exited", 3],
      ["split", 1, "exited", 0],
      ["split", 2, "running", null],
      // A pane without a command is an interactive shell: its `true` ended at once, the shell stays.
      ["split", 3, "exited", 0],
    ]);
    const panes = t
      .tmux("list-panes", "-t", "=pn:2", "-F", "#{pane_index} #{pane_active} #{pane_current_path}")
      .trim()
      .split("\n");
    expect(panes).toHaveLength(4);
    expect(panes.map((p) => p.split(" ")[1])).toEqual(["0", "0", "1", "0"]);
    const log = (slot: number) =>
      waitFor(
        async () =>
          execFileSync("find", [t.stateDir, "-name", `tab-${slot}.log`, "-exec", "cat", "{}", "+"], {
            encoding: "utf8",
          }),
        (x) => x.length > 0,
      );
    expect(await log(1)).toContain("left");
    // Further panes are numbered after the last tab: slot 2 is split's second pane.
    expect(await log(2)).toContain(join(t.work, "sub dir"));
    expect(await log(2)).toContain("right");
    expect(await log(3)).toContain("me");
    await m.killAllSessions();
  });

  it("a tab with panes opened later (dependsOn) gets its panes too, in one tmux call", async () => {
    const m = t.manager({ sessionLayouts: [paneLayout("pl", ["first"])] });
    await m.startAllSessions();
    const { schedule } = await import("@mc/core");
    await schedule(m, { pollMs: 100 });
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => [0, 1, 2, 4].every((i) => x.sessions[0]!.tabs[i]!.state === "exited"),
    );
    expect(r.sessions[0]!.tabs.map((x) => x.exitCode ?? x.state)).toEqual([0, 3, 0, "running", 0]);
    expect(t.tmux("list-panes", "-t", "=pl:{end}", "-F", "#{pane_index}").trim().split("\n")).toHaveLength(4);
    await m.killAllSessions();
  });

  it("a backend without panes refuses such a layout before anything starts", async () => {
    const { SessionManager } = await import("@mc/core");
    const { tmuxBackend } = await import("../src/index.js");
    const m = new SessionManager({
      kind: "NoPanes",
      factory: { ...tmuxBackend, capabilities: { ...tmuxBackend.capabilities, panes: false } },
      machines: [{ name: "local", host: t.host, layouts: [paneLayout("np")] }],
    });
    await expect(m.startAllSessions()).rejects.toThrow(/cannot split a tab into panes/);
    expect(t.sessions()).not.toContain("np");
  });
});

describe("tmux: onStart and onStop (session hooks)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  const hooked = (name: string, marks: string, command = "sleep 30", more: Partial<LayoutConfig> = {}) => ({
    layoutName: name,
    env: { WHO: "it's $(me)" },
    onStart: `echo "start $WHO $(pwd)" >> '${marks}'`,
    onStop: `echo "stop $WHO" >> '${marks}'`,
    layoutTabs: [{ tabName: "t", startDir: t.work, command }],
    ...more,
  });
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");

  it("onStart runs before the tabs, in the first tab's directory, with the layout's environment; onStop when mc kills it", async () => {
    const marks = join(t.dir, "m1");
    const m = t.manager({ sessionLayouts: [hooked("h1", marks)] });
    await m.startAllSessions();
    expect(read(marks)).toBe(`start it's $(me) ${t.work}\n`);
    await m.killAllSessions();
    await waitFor(
      async () => read(marks),
      (x) => x.includes("stop"),
    );
    expect(read(marks)).toBe(`start it's $(me) ${t.work}\nstop it's $(me)\n`);
  });

  it("onStop runs when the user kills the session with tmux, and when its last tab exits; never twice", async () => {
    const marks = join(t.dir, "m2");
    const m = t.manager({
      sessionLayouts: [hooked("h2", marks), { ...hooked("h3", marks, "exit 0"), onStart: undefined }],
      keepShell: false,
    });
    await m.startAllSessions();
    await waitFor(
      async () => read(marks),
      (x) => x.includes("stop"),
    );
    t.tmux("kill-session", "-t", "=h2");
    await waitFor(
      async () =>
        read(marks)
          .split("\n")
          .filter((l) => l.startsWith("stop")).length,
      (n) => n >= 2,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(
      read(marks)
        .split("\n")
        .filter((l) => l.startsWith("stop")),
    ).toHaveLength(2);
    // The hook is one global session-closed entry; closing the user's own session runs nothing of mc's.
    expect(t.tmux("show-hooks", "-g", "session-closed").match(/mc-onstop/g)).toHaveLength(1);
    t.tmux("new-session", "-d", "-s", "mine", "sleep 1");
    t.tmux("kill-session", "-t", "=mine");
    expect(t.sessions()).toContain("keeper");
  });

  it("onStop runs when the session was the last on its server (the server exits with it)", async () => {
    const { TmuxLocalManager } = await import("../src/index.js");
    for (const how of ["tmux kill-session", "its last tab exits", "mc kill"] as const) {
      const marks = join(t.dir, `alone-${how.replace(/\W/g, "")}`);
      const sock = join(t.dir, `alone-${how.length}.sock`);
      const m = new TmuxLocalManager({
        sessionLayouts: [hooked("alone", marks, how === "its last tab exits" ? "sleep 1" : "sleep 30")],
        socket: sock,
        host: t.host,
        keepShell: false,
      });
      await m.startAllSessions();
      if (how === "tmux kill-session")
        execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=alone"], { env: t.env });
      if (how === "mc kill") await m.killAllSessions();
      // A server that exits with its last session may do so before it runs its hooks: then mc's next
      // look at that server (a status, here) runs the onStop.
      const stops = await waitFor(
        async () => {
          await m.checkAllSessionsStatus();
          return read(marks)
            .split("\n")
            .filter((l) => l.startsWith("stop")).length;
        },
        (n) => n >= 1,
        10_000,
      );
      expect(stops, how).toBe(1);
      await new Promise((r) => setTimeout(r, 300));
      await m.checkAllSessionsStatus();
      expect(
        read(marks)
          .split("\n")
          .filter((l) => l.startsWith("stop")),
        `${how}: never twice`,
      ).toHaveLength(1);
    }
  });

  it("a failing onStart stops that session's start and says why; nothing of it is left", async () => {
    const marks = join(t.dir, "m3");
    const m = t.manager({ sessionLayouts: [{ ...hooked("h4", marks), onStart: "echo nope >&2; exit 7" }] });
    const err = await m.startAllSessions().catch((e) => e);
    expect(isMcError(err)).toBe(true);
    expect(String(err.message)).toMatch(/onStart of session "h4" exited 7:\s+nope/);
    expect(t.sessions()).not.toContain("h4");
    // Its output is in the message: the hint names no file, as the session's files went with it (review
    // H50-5: it named the onStart log the roll-back had removed).
    const hint = String((err as { hint?: string }).hint);
    expect(hint).not.toMatch(/\.log/);
    expect(hint).toContain("nothing of the session was started");
    const long = t.manager({
      sessionLayouts: [{ ...hooked("h5", marks), onStart: "seq 1 30; exit 7" }],
    });
    const e2 = await long.startAllSessions().catch((e) => e);
    expect(String(e2.message)).toContain('onStart of session "h5" exited 7 (its last 20 lines of 30):\n11\n');
    expect(String(e2.message).trimEnd().endsWith("\n30")).toBe(true);
  });

  it("a start stopped while onStart runs ends everything the hook started, not only its shell (review H67-3)", async () => {
    const marks = join(t.dir, "m4");
    const tag = `hook-child-${process.pid}`;
    const m = t.manager({
      sessionLayouts: [{ ...hooked("h6", marks), onStart: `sh -c 'sleep 1007; : ${tag}'; echo never` }],
    });
    const stop = new AbortController();
    const started = m.startAllSessions({ signal: stop.signal }).catch((e) => e);
    await waitFor(
      async () => processesMentioning(tag, 0).length,
      (n) => n > 0,
    );
    stop.abort();
    expect(isMcError(await started)).toBe(true);
    expect(
      await waitFor(
        async () => processesMentioning(tag, 0),
        (l) => l.length === 0,
        5000,
      ),
    ).toEqual([]);
    expect(t.sessions()).not.toContain("h6");
  });
});

describe("tmux: a state directory is a path, never a glob pattern (source-file globs its argument)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  /** A name glob(3) would match for `pattern`: the decoy an unescaped path would source instead or as well. */
  const globMatch = (pattern: string) =>
    pattern
      .replace(/\\(.)/g, "$1")
      .replace(/\[!?\]?[^\]]*\]/g, (c) => c.replace(/^\[!?/, "")[0] ?? "x")
      .replace(/\*/g, "")
      .replace(/\?/g, "Z");

  it("60 directories of [ ] \\ * ? { } ~: the start command sources exactly its own file, never a decoy", async () => {
    const { tmuxSessionFiles } = await import("../src/index.js");
    const atom = fc.constantFrom(
      "[ab]",
      "[!a]",
      "[",
      "]",
      "\\",
      "\\x",
      "*",
      "?",
      "{a,b}",
      "~",
      "a",
      "é",
      " ",
    );
    const names = fc.sample(
      fc.array(atom, { minLength: 1, maxLength: 6 }).map((a) => a.join("")),
      { numRuns: 60, seed: 7 },
    );
    const target = { tmux: "tmux", socket: { path: t.socket } };
    const info = { platform: "linux" as const, home: t.work, stateDir: t.stateDir };
    const bad: string[] = [];
    names.forEach((name, i) => {
      const dir = join(t.dir, `g${i}`, name);
      const decoy = join(t.dir, `g${i}`, globMatch(name));
      const f = tmuxSessionFiles(
        target,
        { name: "g", index: 0, tabs: [], dir, runDir: dir, runId: "r", keepShell: false },
        info,
      );
      mkdirSync(dir, { recursive: true });
      writeFileSync(f.buildPath, `set -g @mc_src ${i}\n`);
      if (decoy !== dir) {
        mkdirSync(decoy, { recursive: true });
        writeFileSync(join(decoy, "build.tmux"), "set -g @mc_decoy yes\n");
      }
      t.tmux("set", "-gu", "@mc_src", ";", "set", "-gu", "@mc_decoy");
      try {
        execFileSync(f.start.file, f.start.args, { env: t.env, stdio: "pipe" });
      } catch (e) {
        bad.push(`${name}: ${String((e as { stderr?: unknown }).stderr ?? e)}`);
        return;
      }
      const got = t.tmux("show", "-gqv", "@mc_src").trim();
      const decoyed = t.tmux("show", "-gqv", "@mc_decoy").trim();
      if (got !== String(i) || decoyed)
        bad.push(`${name}: sourced ${got || "nothing"}, decoy ${decoyed || "no"}`);
    });
    expect(bad).toEqual([]);
  }, 60_000);

  it("a run whose state directory holds [ab], *, ? and \\ starts from its own build, with a decoy a glob matches", async () => {
    const { localHost } = await import("@mc/core");
    const base = join(t.dir, "states");
    const stateDir = join(base, "s[ab]*?\\x");
    const decoyDir = join(base, globMatch("s[ab]*?\\x"));
    const host = localHost({ env: { ...t.env, MC_STATE_DIR: stateDir }, stateDir });
    const decoying = new Proxy(host, {
      get(o, k) {
        if (k !== "run") return Reflect.get(o, k);
        return async (cmd: Command) => {
          if (cmd.args.includes("source-file")) {
            // The decoy: the same run's files under the directory the unescaped pattern matches.
            execFileSync("cp", ["-R", stateDir, decoyDir]);
            const runs = join(decoyDir, "runs");
            for (const id of execFileSync("ls", [runs], { encoding: "utf8" }).trim().split("\n"))
              writeFileSync(join(runs, id, "s0", "build.tmux"), "new-session -d -s decoy 'sleep 100'\n");
          }
          return o.run(cmd);
        };
      },
    });
    const m = t.manager({ sessionLayouts: [layout("globbed", [["t", "sleep 30"]], t.work)], host: decoying });
    await m.startAllSessions();
    expect(t.sessions().sort()).toEqual(["globbed", "keeper"]);
    await m.killAllSessions();
  });
});
