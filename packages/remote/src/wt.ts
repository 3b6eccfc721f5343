import { WTLocalManager, type WTLocalManagerOptions } from "@mc/wt";
import { RemoteFleetManager, type RemoteManagerOptions } from "./fleet.js";

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
