export { WT_CAPABILITIES, WtBackend, type WtBackendOptions } from "./backend.js";
export { type CommandCheck, checkTabCommand, mergeTabsPowerShell, statementStarts } from "./commands.js";
export { pwshError } from "./errors.js";
export * from "./generate.js";
export { killRun } from "./kill.js";
export { WTLocalManager, type WTLocalManagerOptions, wtBackend } from "./manager.js";
export { type KillReport, parseKillReport, parseProbe, WtParseError } from "./parse.js";
export { type LiveWrapper, liveWrappers, type RegistryEntry, WindowRegistry } from "./registry.js";
export {
  type InteractiveLaunch,
  interactiveLaunchScript,
  stdinScriptArgs,
  stdinScriptInput,
} from "./remote.js";
export { formatSessionReport, formatStatusReport } from "./report.js";
export * from "./scripts.js";
export * from "./versions.js";
export * from "./wrapper.js";
