import { spawn } from "node:child_process";
import { commandDeadline, McError } from "@mc/core";

/** What one ssh client invocation produced; stdout stays bytes so framed lengths are exact. */
export interface SshResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** Stopped because the remote side never printed the `up` token within its time (see spawnSsh). */
  notUp?: boolean;
  /** When (epoch ms, this machine's clock) the `up` token was read: the remote command had started. */
  upAt?: number;
}

/** A running ssh client. */
export interface SshProcess {
  result: Promise<SshResult>;
}

/** Start the local ssh client (the one place this package spawns a process). */
export function spawnSsh(
  file: string,
  args: readonly string[],
  o: {
    input?: string | undefined;
    timeoutMs?: number | undefined;
    signal?: AbortSignal | undefined;
    env?: NodeJS.ProcessEnv | undefined;
    /**
     * A token the remote command prints first, and how long to wait for it: a login that connects but
     * never runs the command (a stuck rc file, a hung home directory) is given up on, however long what
     * follows may take (review H38-1: a run waited for ever, and its rollback too).
     */
    up?: { token: string; ms: number } | undefined;
  },
): SshProcess {
  const result = new Promise<SshResult>((resolve, reject) => {
    const child = spawn(file, [...args], {
      stdio: [o.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: o.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    // A deadline this process slept through (Ctrl-Z) gives the answer a moment to be read (commandDeadline).
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : commandDeadline(
            o.timeoutMs,
            () => {
              timedOut = true;
              child.kill("SIGTERM");
            },
            () => settled,
          );
    let notUp = false;
    let upAt: number | undefined;
    let seen = "";
    let upTimer: { clear(): void } | undefined =
      o.up === undefined
        ? undefined
        : commandDeadline(
            o.up.ms,
            () => {
              timedOut = true;
              notUp = true;
              child.kill("SIGTERM");
            },
            (): boolean => settled || upTimer === undefined,
          );
    const onAbort = () => child.kill("SIGTERM");
    o.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", (b: Buffer) => {
      out.push(b);
      if (upTimer === undefined || o.up === undefined) return;
      // The token may arrive split over two reads: the tail of the last is kept.
      seen = (seen + b.toString("latin1")).slice(-(o.up.token.length + 4096));
      if (seen.includes(o.up.token)) {
        upTimer.clear();
        upTimer = undefined;
        upAt = Date.now();
      }
    });
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      timer?.clear();
      upTimer?.clear();
      o.signal?.removeEventListener("abort", onAbort);
      reject(
        e.code === "ENOENT"
          ? new McError("BINARY_NOT_FOUND", `the OpenSSH client "${file}" was not found`, {
              backend: "remote",
              op: "connect",
              hint: "install openssh-client (apt install openssh-client) or set the ssh option",
              cause: e,
            })
          : e,
      );
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      timer?.clear();
      upTimer?.clear();
      o.signal?.removeEventListener("abort", onAbort);
      if (o.signal?.aborted) {
        reject(new McError("ABORTED", "interrupted", { backend: "remote" }));
        return;
      }
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        ...(notUp ? { notUp } : {}),
        ...(upAt === undefined ? {} : { upAt }),
      });
    };
    child.on("close", settle);
    // Stopped for its time or by the caller: done once the client has exited. Its pipes may stay open for
    // good: a client of a shared connection (ControlMaster) hands them to the master, which keeps them
    // while the remote command still runs (a tmux server that does not answer: review H28-2).
    child.on("exit", (code, signal) => {
      if (!timedOut && !o.signal?.aborted) return;
      child.stdout?.destroy();
      child.stderr?.destroy();
      settle(code, signal);
    });
    if (o.input !== undefined && child.stdin) {
      // The remote side may close stdin early (a refused connection): never crash on EPIPE.
      child.stdin.on("error", () => {});
      child.stdin.end(o.input);
    }
  });
  return { result };
}
