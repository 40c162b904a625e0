/**
 * Node.js (V8) flags `edgeforge serve` runs with. V8 flags cannot be set once the process runs,
 * so every launcher passes them: the `edgeforge` bin's shebang, `npm start`, the tests' and the
 * benchmarks' child servers. A test checks the first two against this list.
 *
 * --no-memory-reducer: after a few seconds without work V8's memory reducer runs shrinking
 * collections. On the 2-core VM of docs/performance.md, a gateway idle for 25 s then served every
 * request about 30% slower (16 → 21 µs of CPU per hello-world request, the same in JavaScript and
 * in the kernel's socket writes) for as long as it was measured; with the flag it stays at
 * 15–16 µs. The price is that an idle gateway keeps the heap it grew to under load.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer']

/** The flags of SERVE_NODE_FLAGS this process was started without. */
export function missingServeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag))
}
