export { ZELLIJ_CAPABILITIES, ZellijBackend, type ZellijBackendOptions } from "./backend.js";
export {
  isActiveNotDeleted,
  isBadResurrectionLayout,
  isDeadSessionExists,
  isInvalidName,
  isNoSessions,
  isNoSuchSession,
  isSessionExists,
  isSocketDirError,
  isSocketPathTooLong,
  isUnknownCli,
  zellijError,
  zellijErrorCode,
} from "./errors.js";
export {
  CD_LAUNCHER,
  isLiteralPath,
  kdlString,
  LOGGED_LAUNCHER,
  PANE_SHELL,
  paneArgv,
  paneName,
  startCommand,
  type ZellijLayoutInput,
  type ZellijSessionFiles,
  type ZellijSessionInput,
  type ZellijTab,
  zellijLayout,
  zellijOnExit,
  zellijSessionFiles,
  zellijTabs,
} from "./generate.js";
export {
  DEFAULT_ZELLIJ_PREFIX,
  ZellijLocalManager,
  type ZellijManagerOptions,
  zellijBackend,
} from "./manager.js";
export {
  checkSessionName,
  DEFAULT_MAX_SESSION_NAME_BYTES,
  hasLoneSurrogate,
  maxSessionNameBytes,
  sessionNameProblem,
} from "./names.js";
export {
  exitOfPaneName,
  isRemains,
  joinSplitNames,
  ownPanes,
  type PaneRow,
  paneEvidence,
  paneTabIndex,
  parsePaneList,
  parseSessionList,
  parseTabRef,
  runIdOfCommand,
  runIdOfPaneName,
  runIdsInLayout,
  type SessionRow,
  stripAnsi,
  tabRef,
} from "./parse.js";
export {
  contractDir,
  hostFactsCommand,
  parseHostFacts,
  resurrectionLayoutPath,
  socketPathMax,
  type ZellijHostFacts,
  zellijCacheDir,
  zellijSocketDir,
} from "./paths.js";
export { ZellijQueries } from "./queries.js";
export {
  atLeast,
  formatVersion,
  LIST_PANES_SINCE,
  MIN_ZELLIJ_VERSION,
  NEW_SESSION_WITH_LAYOUT_SINCE,
  parseZellijVersion,
  type ZellijVersion,
} from "./version.js";
