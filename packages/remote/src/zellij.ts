import { ZellijLocalManager, type ZellijManagerOptions } from "@mc/zellij";
import { RemoteFleetManager, type RemoteManagerOptions } from "./fleet.js";

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
