import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Remove a directory tree that processes may still be writing into (tab wrappers record their hang-up a
 * moment after `kill-server`). Node's own `maxRetries` lists the children once and then only retries the
 * final rmdir, so files created meanwhile make it fail; this retries the whole removal.
 */
export function rmTree(path: string, attempts = 20): void {
  for (let i = 1; ; i++) {
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch (e) {
      if (i >= attempts || (e as NodeJS.ErrnoException).code !== "ENOTEMPTY") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/**
 * Everything the bench starts lives here: one temp root, the private tmux servers on sockets under it,
 * child processes and any other cleanup. `cleanup()` is synchronous so it also runs from a signal handler
 * or the `exit` event: no tmux server, temp dir or sshd survives the bench, even when it fails.
 */
export class Sandbox {
  readonly root: string;
  /** tmux config every server starts with (tmux 3.3a reads `-f` only when the server starts). */
  readonly conf: string;
  /** Environment of every contender: `/bin/sh` as the shell, not inside anyone's tmux. */
  readonly env: NodeJS.ProcessEnv;
  private readonly sockets = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly hooks: (() => void)[] = [];
  private done = false;
  private seq = 0;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), "mc-bench-"));
    this.conf = join(this.root, "tmux.conf");
    writeFileSync(this.conf, "set -g default-shell /bin/sh\n");
    // The CLI's compile cache lives in the sandbox: the bench neither reads nor leaves one of the user's.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SHELL: "/bin/sh",
      NO_COLOR: "1",
      MC_CACHE_DIR: join(this.root, "mc-cache"),
    };
    // Run from inside tmux, a contender would otherwise nest or talk to the user's server.
    delete env.TMUX;
    delete env.TMUX_PANE;
    this.env = env;
  }

  /** A fresh directory under the root. */
  dir(label: string): string {
    const d = join(this.root, `${String(++this.seq).padStart(3, "0")}-${label.replace(/[^\w.-]/g, "_")}`);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /**
   * Start a private tmux server on `<dir>/sock` with the bench config and a keeper session, so every
   * contender finds the same running server (and the same `default-shell`) before its timer starts.
   */
  startServer(dir: string): string {
    const sock = join(dir, "sock");
    this.sockets.add(sock);
    execFileSync(
      "tmux",
      ["-S", sock, "-f", this.conf, "new-session", "-d", "-s", "keeper", "exec sleep 100000"],
      {
        env: this.env,
        stdio: "ignore",
      },
    );
    return sock;
  }

  /** Kill a server started by {@link startServer} and delete its socket (tmux 3.3a leaves it behind). */
  killServer(sock: string): void {
    try {
      execFileSync("tmux", ["-S", sock, "kill-server"], { env: this.env, stdio: "ignore", timeout: 10_000 });
    } catch {}
    rmSync(sock, { force: true });
    this.sockets.delete(sock);
  }

  /** Remember a child so cleanup can kill it. */
  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  /** Run `fn` at cleanup (for example: stop an sshd). */
  onCleanup(fn: () => void): void {
    this.hooks.push(fn);
  }

  /** Stop everything and delete the root; safe to call more than once. */
  cleanup(): void {
    if (this.done) return;
    this.done = true;
    for (const c of this.children) {
      try {
        c.kill("SIGKILL");
      } catch {}
    }
    for (const fn of this.hooks.reverse()) {
      try {
        fn();
      } catch {}
    }
    for (const s of [...this.sockets]) this.killServer(s);
    try {
      rmTree(this.root);
    } catch (e) {
      process.stderr.write(`bench: could not remove ${this.root}: ${(e as Error).message}\n`);
    }
  }

  /** Clean up on SIGINT/SIGTERM/SIGHUP and on exit; returns a function that removes the handlers. */
  installHandlers(): () => void {
    const onSignal = (sig: NodeJS.Signals) => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      this.cleanup();
      process.exit(sig === "SIGINT" ? 130 : 143);
    };
    const onExit = () => this.cleanup();
    const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of sigs) process.on(s, onSignal);
    process.on("exit", onExit);
    return () => {
      for (const s of sigs) process.off(s, onSignal);
      process.off("exit", onExit);
    };
  }
}
