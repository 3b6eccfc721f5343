export {
  ABSENT,
  batchScript,
  type Frame,
  NO_TEMP_DIR,
  type Op,
  parseFrames,
  runText,
  TEMP_DIR_SCRIPT,
} from "./batch.js";
export {
  checkMachineName,
  connectionNotices,
  type MachineSsh,
  type SshConnection,
  type SshMachineOptions,
  sshConnect,
  sshConnection,
  sshMachine,
} from "./connection.js";
export {
  controlDirCandidates,
  controlDirProblem,
  defaultControlDir,
  ensurePrivateDir,
} from "./control-dir.js";
export { droppedError, type SshErrorContext, sshError, stateError } from "./errors.js";
export { checkDistinctMachines, type IdentifiedHost, machineIdentity } from "./machine-identity.js";
export {
  type HostFacts,
  INFO_SCRIPT,
  parseClock,
  parseInfo,
  platformFromUname,
  type StateExposureKind,
} from "./parse.js";
export {
  checkTarget,
  checkUser,
  loginShellQuote,
  parseDestination,
  psEncodedArgs,
  psQuote,
  type SshDestination,
  shJoin,
} from "./quote.js";
export {
  machineSshOptions,
  type RemoteKillResult,
  RemoteManager,
  type RemoteManagerOptions,
  remoteMachines,
} from "./remote-manager.js";
export {
  NEUTRAL_OPTIONS,
  NEUTRAL_OPTIONS_87,
  type SshHostOptions,
  sshBaseArgs,
  sshMcArgs,
  sshPercent,
  sshUserArgs,
  type UnansweredConnections,
} from "./ssh-args.js";
export { connectionKey, type ResolvedSsh, resolveSsh } from "./ssh-config.js";
export { type SshHost, sshHost } from "./ssh-host.js";
export { checkRemoteStateOwner, remoteStateExposure, remoteStateRefusal } from "./state-owner.js";
export { parseDirListing, parseTar } from "./tar.js";
export {
  parsePsDir,
  parsePsInfo,
  parsePsWinTable,
  psInfo,
  psRun,
  windowsCommandLine,
} from "./windows.js";
export { windowsScript } from "./windows-ops.js";
export {
  parseShellProbe,
  SHELL_PROBE,
  STDIN_STUB,
  stubInput,
  stubLine,
  type WindowsShell,
} from "./windows-shell.js";
