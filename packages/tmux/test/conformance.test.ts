import { runConformanceSuite } from "@mc/core/testing";
import { type PrivateTmux, privateTmux } from "./harness.js";

let t: PrivateTmux;
runConformanceSuite({
  name: "tmux (real tmux, private socket)",
  async setup() {
    t = privateTmux();
  },
  async teardown() {
    t.stop();
  },
  manager: (o) => t.manager(o),
  listSessions: async () => t.sessions(),
  createForeignSession: async (name) => {
    t.tmux("new-session", "-d", "-s", name, "sleep 1000");
  },
  get workDir() {
    return t.work;
  },
  intervalMs: 100,
  attachTarget: (s) => String(s.data?.sessionId),
});
