export { type ConformanceHarness, runConformanceSuite } from "./conformance.js";
export { type FakeHandler, type FakeHost, type FakeHostOptions, fakeHost } from "./fake-host.js";
