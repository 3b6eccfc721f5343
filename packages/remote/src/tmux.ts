import { type TmuxBackendOptions, tmuxBackend } from "@mc/tmux";
import { RemoteManager, type RemoteManagerOptions } from "./remote-manager.js";

/** tmux options a remote machine can take (a private socket, another tmux binary). */
export type TmuxRemoteBackendOptions = TmuxBackendOptions;

/**
 * tmux sessions on many machines over OpenSSH (machineconfig's remote managers, for tmux): core's
 * SessionManager over an sshHost per machine; one ssh round trip per machine per status poll.
 *
 * @example
 * const fleet = new TmuxRemoteManager({ machineLayouts: { "gpu-1": [train], "gpu-2": [eval] } });
 * const results = await fleet.start({ onConflict: "rename" });
 * await fleet.runMonitoringRoutine({ killUponCompletion: true });
 */
export class TmuxRemoteManager extends RemoteManager<TmuxRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<TmuxRemoteBackendOptions>) {
    super("TmuxRemoteManager", tmuxBackend, opts);
  }
}
