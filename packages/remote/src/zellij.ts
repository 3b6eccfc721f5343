import { type ZellijBackendOptions, zellijBackend } from "@mc/zellij";
import { RemoteManager, type RemoteManagerOptions } from "./remote-manager.js";

/** zellij options a remote machine can take. */
export type ZellijRemoteBackendOptions = ZellijBackendOptions;

/** zellij sessions on many machines over OpenSSH: core's SessionManager over an sshHost per machine. */
export class ZellijRemoteManager extends RemoteManager<ZellijRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<ZellijRemoteBackendOptions>) {
    super("ZellijRemoteManager", zellijBackend, opts);
  }
}
