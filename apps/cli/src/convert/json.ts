import { z } from "zod";

const warning = z.object({
  at: z.string().describe("Where in the source: a key path (`windows[2].options`) or a tab and pane."),
  message: z.string().describe("What is not carried over, or carried over differently, and why."),
  line: z
    .number()
    .int()
    .optional()
    .describe("Where `at` is in a YAML source file (1-based), when it names a field found there."),
  column: z.number().int().optional().describe("With `line`: the column (1-based)."),
});

/**
 * `sessions import --json` and `sessions freeze --json`: the layouts file (also when written with -o)
 * and every warning. (To be listed with the other outputs of `sessions schema`.)
 */
export const convertDocument = z
  .object({
    ok: z.literal(true),
    source: z.string().describe("The file read, or `tmux session NAME` / `zellij session NAME`."),
    format: z.enum(["tmuxp", "tmuxinator", "zellij", "tmux"]),
    output: z.string().nullable().describe("The file written (-o), or null."),
    layouts: z.object({ version: z.string(), layouts: z.array(z.unknown()) }).passthrough(),
    warnings: z.array(warning),
  })
  .describe("sessions import / freeze --json");

/** `sessions export --json`: the other tool's file as text, and every warning. */
export const exportDocument = z
  .object({
    ok: z.literal(true),
    source: z.string(),
    format: z.enum(["tmuxp", "tmuxinator", "zellij"]),
    output: z.string().nullable(),
    text: z.string().describe("The file's exact text (also when written with -o)."),
    warnings: z.array(warning),
  })
  .describe("sessions export --json");
