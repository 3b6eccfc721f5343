import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionEvents } from "../src/events.js";
import type { ManagedSession } from "../src/run-record.js";
import { EVENTS_FILE } from "../src/tab-wrapper.js";

const session = {
  machine: "local",
  name: "s",
  requestedName: "s",
  layout: {
    layoutName: "s",
    layoutTabs: [
      { tabName: "a", startDir: "/", command: "true" },
      { tabName: "b", startDir: "/", command: "true", readiness: { file: "x" } },
    ],
  },
  runDir: "/state/runs/r/s0",
  artefacts: [],
  startedAt: 1_700_000_000_000,
} as unknown as ManagedSession;

const anyValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e300, -1e300, -5, 2 ** 53, 0.5, Number.MAX_VALUE),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const line = fc.oneof(
  fc
    .record(
      {
        type: fc.constantFrom("tab-started", "tab-exited", "tab-killed", "tab-retried", "x"),
        t: anyValue,
        index: anyValue,
        pane: anyValue,
        exitCode: anyValue,
        attempt: anyValue,
        signal: anyValue,
        reason: anyValue,
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

describe("a session's events file is written by its tabs: any damage is skipped, never a crash (outside review H5-10)", () => {
  it("generated damaged lines and ready markers: every event has a real time and a tab of the layout", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), anyValue, (lines, readyT) => {
        const files = new Map([
          [EVENTS_FILE, lines.join("\n")],
          ["ready-1.json", JSON.stringify({ t: readyT })],
        ]);
        const events = sessionEvents({ session, files });
        for (const e of events) {
          expect(Number.isNaN(Date.parse(e.time))).toBe(false);
          if (e.index !== undefined) expect([0, 1]).toContain(e.index);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("good lines still read", () => {
    const files = new Map([
      [
        EVENTS_FILE,
        `${JSON.stringify({ type: "tab-exited", t: 1_700_000_001.5, index: 0, exitCode: 3 })}\n{"t":1e300,"type":"tab-exited","index":0}\n{"type":"tab-started","t":1,"index":-5}\n`,
      ],
    ]);
    const events = sessionEvents({ session, files });
    expect(events.map((e) => e.type)).toEqual(["session-started", "tab-exited"]);
    expect(events[1]).toMatchObject({ tab: "a", exitCode: 3 });
  });
});
