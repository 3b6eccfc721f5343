export {
  ABSENT,
  batchScript,
  type Frame,
  type Op,
  parseDirListing,
  parseFrames,
  parseTar,
  runText,
} from "./batch.js";
export { droppedError, sshError } from "./errors.js";
export {
  type FleetKillResult,
  type FleetMonitoringOptions,
  type FleetSnapshot,
  type FleetStartOptions,
  type FleetStatusReport,
  type MachineHealth,
  type MachineSsh,
  type MachineStartResult,
  mapLimit,
  RemoteFleetManager,
  type RemoteManagerOptions,
} from "./fleet.js";
export { parseEtime, parseInfo, parsePsTable, platformFromUname, treesFromTable } from "./parse.js";
export { checkTarget, checkUser, loginShellQuote, psEncodedArgs, psQuote, shJoin } from "./quote.js";
export { type SshHostOptions, sshBaseArgs, sshPercent } from "./ssh-args.js";
export { defaultControlDir, ensurePrivateDir, type SshHost, sshHost } from "./ssh-host.js";
export { type PsCall, parsePsDir, parsePsInfo, parsePsWinTable, psInfo, psRun } from "./windows.js";
export { windowsCall } from "./windows-ops.js";
