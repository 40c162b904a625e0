#!/usr/bin/env node
// The agent is TypeScript run by Node's type stripping, which needs Node.js 24.
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(
    `edgeforge-worker needs Node.js 24 or newer; this is ${process.version}. Run it as "npx edgeforge-worker" inside the project (it pins node@24), or install Node.js 24.`,
  )
  process.exit(1)
}
await import('../src/cli.ts')
