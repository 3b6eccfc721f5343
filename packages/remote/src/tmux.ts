import { TmuxLocalManager, type TmuxManagerOptions } from "@mc/tmux";
import { RemoteFleetManager, type RemoteManagerOptions } from "./fleet.js";

/** tmux options a remote machine can take (a private socket, another tmux binary). */
export type TmuxRemoteBackendOptions = Pick<TmuxManagerOptions, "socket" | "tmux">;

/**
 * tmux sessions on many machines over OpenSSH (machineconfig's remote managers, for tmux): each machine
 * runs a {@link TmuxLocalManager} on an ssh host; one ssh round trip per machine per status poll.
 *
 * @example
 * const fleet = new TmuxRemoteManager({ machineLayouts: { "gpu-1": [train], "gpu-2": [eval] } });
 * const results = await fleet.startAllSessions({ onConflict: "rename" });
 * await fleet.runMonitoringRoutine({ killUponCompletion: true });
 */
export class TmuxRemoteManager extends RemoteFleetManager<TmuxLocalManager, TmuxRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<TmuxRemoteBackendOptions>) {
    super("TmuxRemoteManager", opts, (o) => new TmuxLocalManager({ ...o, ...o.backend }));
  }
}
