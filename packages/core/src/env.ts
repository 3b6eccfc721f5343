import { McError } from "./errors.js";

/**
 * A number of seconds from environment variable `name` (`MC_TMUX_TIMEOUT`): undefined when unset or
 * blank. What is not a plain decimal number of seconds from `min` to `max` (hex, `Infinity`, `15s`, 0, or
 * below `min`: 0.0001 s made every call "not answering") is a USAGE error naming the variable, never read
 * as "no bound".
 */
export function envSeconds(
  name: string,
  max: number,
  env: NodeJS.ProcessEnv = process.env,
  min = 0.1,
): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === "") return undefined;
  const s = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!(s >= min && s <= max))
    throw new McError(
      "USAGE",
      `${name} must be a number of seconds from ${min} to ${max}, not ${JSON.stringify(v)}`,
      {
        backend: "cli",
        op: "options",
        hint: `unset ${name} for its default`,
      },
    );
  return s;
}
