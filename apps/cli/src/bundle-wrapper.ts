/**
 * What the built `main.cjs` begins and ends with: it is the body of a function expression, which
 * compile-cache.ts compiles with `vm.Script` (and its V8 cache) and calls as node calls a CommonJS module.
 * Its own lines: the head is the file's first line, so the bundle's lines (and its source map) stay true.
 */
export const BUNDLE_HEAD = "(function (exports, require, module, __filename, __dirname) {";
export const BUNDLE_TAIL = "})";
