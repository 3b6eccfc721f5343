export { type ConformanceHarness, runConformanceSuite } from "./conformance.js";
export { type FakeHandler, type FakeHost, type FakeHostOptions, fakeHost } from "./fake-host.js";
export { type HostHarness, runHostConformance } from "./host-conformance.js";
