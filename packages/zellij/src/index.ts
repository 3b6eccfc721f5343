export { ZellijBackend, type ZellijBackendOptions } from "./backend.js";
export {
  isActiveNotDeleted,
  isDeadSessionExists,
  isInvalidName,
  isNoSessions,
  isNoSuchSession,
  isSessionExists,
  isUnknownCli,
  zellijError,
  zellijErrorCode,
} from "./errors.js";
export {
  CD_LAUNCHER,
  isLiteralPath,
  kdlString,
  PANE_SHELL,
  paneArgv,
  startCommand,
  type ZellijLayoutInput,
  type ZellijSessionFiles,
  type ZellijTab,
  zellijLayout,
  zellijSessionFiles,
} from "./generate.js";
export { ZellijLocalManager, type ZellijManagerOptions } from "./manager.js";
export {
  checkSessionName,
  DEFAULT_MAX_SESSION_NAME_BYTES,
  hasLoneSurrogate,
  maxSessionNameBytes,
  sessionNameProblem,
  zellijSocketDir,
} from "./names.js";
export {
  type PaneRow,
  paneTabIndex,
  parsePaneList,
  parseSessionList,
  type SessionRow,
  stripAnsi,
} from "./parse.js";
export {
  atLeast,
  formatVersion,
  LIST_PANES_SINCE,
  MIN_ZELLIJ_VERSION,
  NEW_SESSION_WITH_LAYOUT_SINCE,
  parseZellijVersion,
  type ZellijVersion,
} from "./version.js";
