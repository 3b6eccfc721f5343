import { TmuxLocalManager, type TmuxManagerOptions } from "@mc/tmux";
import { WTLocalManager, type WTLocalManagerOptions } from "@mc/wt";
import { ZellijLocalManager, type ZellijManagerOptions } from "@mc/zellij";
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

/** zellij options a remote machine can take. */
export type ZellijRemoteBackendOptions = Pick<
  ZellijManagerOptions,
  "zellij" | "maxSessionNameBytes" | "tabBar" | "appearTimeoutMs"
>;

/** zellij sessions on many machines over OpenSSH: a {@link ZellijLocalManager} per machine on an ssh host. */
export class ZellijRemoteManager extends RemoteFleetManager<ZellijLocalManager, ZellijRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<ZellijRemoteBackendOptions>) {
    super("ZellijRemoteManager", opts, (o) => new ZellijLocalManager({ ...o, ...o.backend }));
  }
}

/** Windows Terminal options a remote machine can take. */
export type WTRemoteBackendOptions = Pick<WTLocalManagerOptions, "wt" | "pwsh" | "appearTimeoutMs">;

/**
 * Windows Terminal windows on many Windows machines over OpenSSH (Windows' OpenSSH server): a
 * {@link WTLocalManager} per machine on an ssh host whose operations are PowerShell (`platform: "win32"`).
 * wt.exe opens windows on the interactive desktop only, so the remote user must be logged in there.
 */
export class WTRemoteManager extends RemoteFleetManager<WTLocalManager, WTRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<WTRemoteBackendOptions>) {
    super(
      "WTRemoteManager",
      opts,
      (o) =>
        new WTLocalManager({
          sessionLayouts: o.sessionLayouts,
          host: o.host,
          ...(o.sessionNamePrefix === undefined ? {} : { sessionNamePrefix: o.sessionNamePrefix }),
          ...(o.keepShell === undefined ? {} : { keepShell: o.keepShell }),
          ...o.backend,
        }),
      { platform: "win32" },
    );
  }
}
