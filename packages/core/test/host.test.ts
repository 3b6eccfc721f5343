import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineHost } from "../src/define-host.js";
import { localHost } from "../src/local-host.js";
import { runHostConformance } from "../src/testing/host-conformance.js";

const dirs: string[] = [];
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), "mc-host-"));
  dirs.push(d);
  return d;
};
let state: string;

runHostConformance({
  name: "localHost",
  async setup() {
    state = await fresh();
  },
  async teardown() {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  },
  host: () => localHost({ stateDir: state }),
  workDir: fresh,
});

// Only the primitives: every other operation is derived through POSIX sh, as on a new transport.
runHostConformance({
  name: "defineHost (derived POSIX operations)",
  async setup() {
    state = await fresh();
  },
  host: () => {
    const l = localHost({ stateDir: state });
    return defineHost({
      id: "derived",
      get spawned() {
        return l.spawned;
      },
      run: (c, o) => l.run(c, o),
      runInteractive: (c) => l.runInteractive(c),
      info: () => l.info(),
    });
  },
  workDir: fresh,
});
