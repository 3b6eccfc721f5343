// Types of the parts of lib.mjs the TypeScript tests use.
export function listWindows(stateDir: string): Map<string, number[]>;
export function alive(pid: number): boolean;
export function splitCommands(argv: readonly string[]): string[][];
export function windowsArgv(cmdline: string): string[];
export function evaluateLaunch(script: string): { file: string; args: string[] };
