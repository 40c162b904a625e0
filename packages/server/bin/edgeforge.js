#!/usr/bin/env -S node --no-memory-reducer
// The flags are the server's (src/cli/node-flags.ts); V8 takes them only at start.
// The CLI is TypeScript run by Node's type stripping, which needs Node.js 24.
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(
    `edgeforge needs Node.js 24 or newer; this is ${process.version}. Run it as "./edgeforge" from the clone (the script uses the node@24 the project pins), or install Node.js 24.`,
  )
  process.exit(1)
}
await import('../src/cli/main.ts')
