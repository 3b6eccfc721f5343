// Types of the parts of lib.mjs the TypeScript tests use.
// biome-ignore lint/suspicious/noExplicitAny: fake-terminal state is free-form JSON
type Json = any;
export function listWindows(stateDir: string): Map<string, number[]>;
export function windowTabs(stateDir: string, window: string): Json[];
export function events(stateDir: string): Json[];
export function getJson(path: string, fallback: Json): Json;
export function hex(s: string): string;
export function alive(pid: number): boolean;
export function splitCommands(argv: readonly string[]): string[][];
export function windowsArgv(cmdline: string): string[];
export function windowTarget(value: string, wtVersion: number[]): Json;
export function collapse(v: string, wtVersion: number[]): string;
export function parseCommand(args: string[], wtVersion: number[]): Json;
export function version(s: string): number[];
export function psLiteral(text: string, i: number): [string, number];
export function launchFacts(script: string): { name: string; commandLine: string };
export function legacyCommandLine(args: string[], psVersion: number[]): string;
