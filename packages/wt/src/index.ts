export { WtBackend, type WtBackendOptions } from "./backend.js";
export { pwshError } from "./errors.js";
export * from "./generate.js";
export { WTLocalManager, type WTLocalManagerOptions } from "./manager.js";
export * from "./parse.js";
export * from "./ps-literal.js";
export { formatSessionReport, formatStatusReport } from "./report.js";
