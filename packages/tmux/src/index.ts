export { TMUX_CAPABILITIES, TMUX_TIMEOUT_ENV, TmuxBackend, tmuxAnswerMs } from "./backend.js";
export { isNoServer, isNoSession, tmuxError } from "./errors.js";
export {
  buildName,
  exactSession,
  literalStyles,
  noFormat,
  PANE_FORMAT,
  paneCommand,
  renameCommand,
  SESSION_FORMAT,
  type TmuxBuild,
  type TmuxSessionFiles,
  type TmuxSocket,
  type TmuxTab,
  type TmuxTarget,
  tmuxArgs,
  tmuxBuildScript,
  tmuxQuote,
  tmuxSessionFiles,
  tmuxSessionKey,
  tmuxStoredName,
} from "./generate.js";
export { TmuxLocalManager, type TmuxManagerOptions, tmuxBackend } from "./manager.js";
export { mcPaneCommand, type PaneRow, paneTabIndex, parsePanes, parseSessions, startArgv } from "./parse.js";
export {
  MIN_TMUX_VERSION,
  parseTmuxVersion,
  pinSocket,
  type TmuxBackendOptions,
  toSocket,
} from "./server.js";
