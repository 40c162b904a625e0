/**
 * Node.js (V8) flags `edgeforge serve` runs with. V8 flags cannot be set once the process runs,
 * so every launcher passes them: the `edgeforge` bin's shebang, `npm start`, the tests' and the
 * benchmarks' child servers. A test checks the first two against this list.
 *
 * --no-memory-reducer: after a few seconds without work V8's memory reducer runs shrinking
 * collections. On the 2-core VM of docs/performance.md, a gateway idle for 25 s then spent about
 * 40% more CPU per hello-world request (15.6 → 21.7 µs, in JavaScript and in the kernel's socket
 * writes alike) for as long as it was measured; with the flag, 15.4 → 16.3 µs
 * (`npm run bench:gateway-idle`). The price: an idle gateway keeps the heap it grew to under load.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer']

/** The flags of SERVE_NODE_FLAGS this process was started without. */
export function missingServeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag))
}
