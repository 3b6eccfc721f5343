export { WT_CAPABILITIES, WtBackend, type WtBackendOptions } from "./backend.js";
export { pwshError } from "./errors.js";
export * from "./generate.js";
export { WTLocalManager, type WTLocalManagerOptions, wtBackend } from "./manager.js";
export { type KillReport, parseKillReport, WtParseError } from "./parse.js";
export { formatSessionReport, formatStatusReport } from "./report.js";
