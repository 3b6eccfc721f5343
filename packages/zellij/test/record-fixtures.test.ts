import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES } from "./fixtures.js";
import { findRealZellij, layout, QUICK_SAVE, realZellij, waitFor } from "./real-zellij.js";

/**
 * Records what the real zellij prints, for the parsers' tests and for the fake to replay:
 * `MC_RECORD_ZELLIJ=1 pnpm --filter @mc/zellij exec vitest run test/record-fixtures.test.ts` writes
 * `fixtures/zellij-<version>/recorded/<key>.{stdout,stderr,rc}` and `recorded.json` (each key's argv,
 * with `$ROOT` for the private world's root, and the session name it used).
 */
const found = findRealZellij();
const on = process.env.MC_RECORD_ZELLIJ === "1" && "version" in found;

describe.skipIf(!on)("record zellij outputs (opt-in: MC_RECORD_ZELLIJ=1, with a real zellij)", () => {
  it("records every output mc parses", async () => {
    if (!("version" in found)) return;
    const version = found.version.replace(/^zellij /, "");
    const out = join(FIXTURES, `zellij-${version}`, "recorded");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const z = realZellij(found.path, found.version, QUICK_SAVE);
    const index: Record<string, { argv: string[]; name?: string; note: string }> = {};
    const rec = (key: string, note: string, args: string[], name?: string, env?: NodeJS.ProcessEnv) => {
      const r = env
        ? (() => {
            const saved = { ...z.env };
            Object.assign(z.env, env);
            try {
              return z.zellij(...args);
            } finally {
              for (const k of Object.keys(z.env)) delete z.env[k];
              Object.assign(z.env, saved);
            }
          })()
        : z.zellij(...args);
      const clean = (s: string) => s.replaceAll(z.root, "$ROOT");
      writeFileSync(join(out, `${key}.stdout`), clean(r.stdout));
      writeFileSync(join(out, `${key}.stderr`), clean(r.stderr));
      writeFileSync(join(out, `${key}.rc`), `${r.code}\n`);
      index[key] = { argv: args.map(clean), ...(name === undefined ? {} : { name }), note };
      return r;
    };
    try {
      rec("version", "zellij --version", ["--version"]);
      rec("ls-none", "no sessions at all", ["list-sessions"]);
      rec("ls-none-n", "no sessions at all", ["list-sessions", "--no-formatting"]);
      rec("kill-missing", "kill-session of a name that does not exist", ["kill-session", "nosuch"], "nosuch");
      rec(
        "delete-missing",
        "delete-session of a name that does not exist",
        ["delete-session", "nosuch"],
        "nosuch",
      );
      rec(
        "action-missing-0live",
        "--session X action with no session at all",
        ["--session", "nosuch", "action", "list-panes", "--json"],
        "nosuch",
      );
      rec(
        "attach-b-new",
        "attach --create-background of a new name",
        ["attach", "--create-background", "alpha"],
        "alpha",
      );
      const settled = (n: number) =>
        waitFor(
          async () => z.sessions(),
          (l) => l.length === n,
          5000,
        );
      await settled(1);
      rec(
        "action-missing-1live",
        "--session X action, X missing, one other session",
        ["--session", "nosuch", "action", "list-panes", "--json"],
        "nosuch",
      );
      rec(
        "attach-b-live",
        "attach --create-background of a live name",
        ["attach", "--create-background", "alpha"],
        "alpha",
      );
      rec(
        "kill-missing-similar",
        "kill-session of a missing name close to a live one",
        ["kill-session", "alphaa"],
        "alphaa",
      );
      rec("delete-live-noforce", "delete-session of a live session", ["delete-session", "alpha"], "alpha");
      rec(
        "fg-s-live",
        "the foreground --session path on a live name (no TTY needed to fail)",
        ["--session", "alpha"],
        "alpha",
      );
      rec("delete-empty", "delete-session of an empty name", ["delete-session", ""], "");
      const bad = join(z.work, "bad-env.kdl");
      writeFileSync(bad, 'layout {\n    tab cwd="$NOPE_UNSET" {\n        pane\n    }\n}\n');
      rec(
        "layout-bad-env",
        "a layout whose cwd names an unset variable",
        ["--new-session-with-layout", bad, "attach", "--create-background", "badenv"],
        "badenv",
      );
      z.zellij("attach", "--create-background", "beta b");
      await settled(2);
      rec("ls-several-n", "two live sessions", ["list-sessions", "--no-formatting"]);
      rec("ls-several", "two live sessions, coloured", ["list-sessions"]);
      rec("ls-several-s", "two live sessions, --short", ["list-sessions", "--short"]);
      rec(
        "action-missing-2live",
        "--session X action, X missing, two other sessions: exit 0",
        ["--session", "nosuch", "action", "list-panes", "--json"],
        "nosuch",
      );
      rec(
        "lp-plain",
        "list-panes --json of a plain (non-mc) session",
        ["--session", "alpha", "action", "list-panes", "--json"],
        "alpha",
      );
      rec("save-session", "action save-session", ["--session", "alpha", "action", "save-session"], "alpha");
      rec("kill-live", "kill-session of a live session", ["kill-session", "alpha"], "alpha");
      await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => /^alpha .*EXITED/m.test(s),
      );
      rec("ls-exited-n", "a live and an EXITED session", ["list-sessions", "--no-formatting"]);
      rec("fg-s-exited", "the foreground --session path on an EXITED name", ["--session", "alpha"], "alpha");
      rec("ls-exited", "a live and an EXITED session, coloured", ["list-sessions"]);
      rec("kill-exited", "kill-session of an EXITED session", ["kill-session", "alpha"], "alpha");
      rec("delete-exited", "delete-session of an EXITED session", ["delete-session", "alpha"], "alpha");
      rec("delete-slash", "delete-session of a name with /", ["delete-session", "a/b"], "a/b");
      rec("delete-dotdot", "delete-session of ..", ["delete-session", ".."], "..");
      z.zellij("attach", "--create-background", "young");
      rec(
        "delete-young-force",
        "delete-session --force of a session under a second old",
        ["delete-session", "--force", "young"],
        "young",
      );
      rec(
        "unknown-action",
        "an action this zellij does not have",
        ["action", "no-such-action"],
        "no-such-action",
      );

      // An mc session: list-panes while tabs run, end (keep mode) and are held back.
      const m = z.manager({
        sessionLayouts: [
          layout(
            "mcs",
            [
              ["ok", "sleep 60"],
              ["fail", "exit 3"],
              ["later", "exit 0"],
            ],
            z.work,
          ),
        ],
        exitMode: "keep",
      });
      await m.startAllSessions({ initialTabs: 2 });
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (r) => r.sessions[0]!.tabs[1]!.state === "exited",
      );
      rec(
        "lp-mc",
        "list-panes --json of an mc session (keep mode): running, exited 3, held back",
        ["--session", "mcs", "action", "list-panes", "--json"],
        "mcs",
      );
      // Its answer, like every action's, can come back empty (exit 0) when the server is busy: asked again.
      await waitFor(
        async () =>
          rec(
            "dump-layout-mc",
            "dump-layout of that session",
            ["--session", "mcs", "action", "dump-layout"],
            "mcs",
          ),
        (r) => r.stdout !== "",
        5000,
      );
      rec(
        "save-session-mc",
        "save-session of that session",
        ["--session", "mcs", "action", "save-session"],
        "mcs",
      );
      const saved = z.zellij("list-sessions", "--no-formatting");
      expect(saved.code).toBe(0);
      z.zellij("kill-session", "mcs");
      await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => /^mcs .*EXITED/m.test(s),
      );
      const { readFileSync } = await import("node:fs");
      const cache = join(
        z.root,
        "c",
        "zellij",
        "contract_version_1",
        "session_info",
        "mcs",
        "session-layout.kdl",
      );
      writeFileSync(
        join(out, "session-layout-mc.kdl"),
        readFileSync(cache, "utf8").replaceAll(z.root, "$ROOT"),
      );
      index["session-layout-mc.kdl"] = {
        argv: [],
        name: "mcs",
        note: "the resurrection layout zellij saved for that session",
      };
      rec(
        "attach-b-exited",
        "attach --create-background of an EXITED mc session: resurrects it, exit 0",
        ["attach", "--create-background", "mcs"],
        "mcs",
      );
      // The resurrected panes appear a moment after attach returns.
      await waitFor(
        async () =>
          rec(
            "lp-resurrected",
            "list-panes --json of the resurrected session: panes held, suspended",
            ["--session", "mcs", "action", "list-panes", "--json"],
            "mcs",
          ),
        (r) => r.stdout.includes("terminal_command"),
        5000,
      );
      z.zellij("kill-session", "mcs");
      z.zellij("delete-session", "mcs");
      await m.killAllSessions();

      // zellij saves a pane's live cwd unescaped: a `$` in it makes the saved layout unreadable, and every
      // attach of that name fails before it even checks whether the session is live.
      mkdirSync(join(z.work, "dir$x"));
      const d = z.manager({ sessionLayouts: [layout("dol", [["t", "sleep 60"]], join(z.work, "dir$x"))] });
      await d.startAllSessions();
      await waitFor(
        () => d.checkAllSessionsStatus(),
        (r) => r.sessions[0]!.tabs[0]!.state === "running",
      );
      z.zellij("--session", "dol", "action", "save-session");
      rec(
        "attach-b-bad-resurrection",
        "attach --create-background of a live name whose saved layout has a cwd with $",
        ["attach", "--create-background", "dol"],
        "dol",
      );
      await d.killAllSessions();

      // Startup errors.
      const deep = join(z.root, "s", "d".repeat(60));
      rec(
        "sockdir-too-long",
        "a socket dir that leaves no room for the name",
        ["attach", "--create-background", "n".repeat(20)],
        "n".repeat(20),
        { ZELLIJ_SOCKET_DIR: deep },
      );
      rec(
        "sockdir-proc",
        "a socket dir that cannot be created",
        ["attach", "--create-background", "sd"],
        "sd",
        { ZELLIJ_SOCKET_DIR: "/proc/mc-no-such/zj" },
      );
      // zellij 0.45 loses an answer now and then under load (a session left out, an empty reply): a run
      // disturbed that way is not kept. These are the answers every undisturbed run gives.
      const rc = (k: string) => Number(readFileSync(join(out, `${k}.rc`), "utf8"));
      const text = (k: string, s: "stdout" | "stderr") => readFileSync(join(out, `${k}.${s}`), "utf8");
      expect(rc("attach-b-live")).toBe(1);
      expect(text("attach-b-live", "stderr")).toBe("Session already exists\n");
      expect([
        rc("fg-s-live"),
        rc("fg-s-exited"),
        rc("action-missing-1live"),
        rc("action-missing-2live"),
      ]).toEqual([1, 1, 1, 0]);
      expect([rc("lp-plain"), rc("save-session"), rc("kill-live"), rc("delete-exited")]).toEqual([
        0, 0, 0, 0,
      ]);
      expect(text("ls-several-n", "stdout").trim().split("\n")).toHaveLength(2);
      expect(text("ls-exited-n", "stdout")).toMatch(/^alpha .*EXITED/m);
      writeFileSync(join(out, "..", "recorded.json"), `${JSON.stringify({ version, index }, null, 2)}\n`);
    } finally {
      z.stop();
    }
  }, 120_000);
});
