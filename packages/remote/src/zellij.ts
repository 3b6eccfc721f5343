// Written against the zellij backend on the new contract (`zellijBackend`, mirroring `tmuxBackend`),
// which @mc/zellij does not export yet on `redesign`: this entry is excluded from this package's
// typecheck until it does (tsconfig.json), and its test skips itself until then.
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
