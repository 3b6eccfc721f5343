// Written against the Windows Terminal backend on the new contract (`wtBackend`, mirroring
// `tmuxBackend`), which @mc/wt does not export yet on `redesign`: this entry is excluded from this
// package's typecheck until it does (tsconfig.json). The Windows remote path is being reworked apart.
import { type WtBackendOptions, wtBackend } from "@mc/wt";
import { RemoteManager, type RemoteManagerOptions } from "./remote-manager.js";

/** Windows Terminal options a remote machine can take. */
export type WTRemoteBackendOptions = WtBackendOptions;

/**
 * Windows Terminal windows on many Windows machines over OpenSSH (Windows' OpenSSH server): core's
 * SessionManager over an sshHost per machine whose operations are PowerShell (`platform: "win32"`).
 * wt.exe opens windows on the interactive desktop only, so the remote user must be logged in there.
 */
export class WTRemoteManager extends RemoteManager<WTRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<WTRemoteBackendOptions>) {
    super("WTRemoteManager", wtBackend, opts, { platform: "win32" });
  }
}
