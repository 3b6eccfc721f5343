/**
 * Test oracles for the Windows Terminal backend (`@mc/wt/testing`): independent readers of what wt.exe,
 * CommandLineToArgvW and PowerShell make of mc's generated argv and scripts. Not part of the public API.
 */
export {
  evaluateLaunchScript,
  type LaunchEvaluation,
  psAssignedLiteral,
  readPsSingleQuoted,
} from "./ps-literal.js";
export {
  type Cli11,
  cli11Collapse,
  cli11Of,
  parseWtArgv,
  splitWtCommands,
  type WtAction,
  type WtFocusPane,
  type WtFocusTab,
  type WtInvocation,
  type WtNewTab,
  type WtSplitPane,
  windowsArgv,
  windowTarget,
  wtJoinCommandline,
} from "./wt-argv.js";
