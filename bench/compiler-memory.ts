// Memory of the warm type checker: one Compiler (type check on, as `serve` runs it) compiles many
// distinct handlers one after another — as a gateway does over weeks of deploys — and the process's
// RSS is sampled along the way, after a GC of the main thread. docs/operations.md quotes the
// results (what a gateway needs at rest, and what recycling the checker's worker bounds it to).
//
// The checker runs with the server's defaults (EDGEFORGE_TYPE_CHECK_MAX_HEAP_MB and
// EDGEFORGE_TYPE_CHECK_RECYCLE_AFTER) unless the flags below say otherwise.
//
//   npm run bench:compiler-memory                        # 600 compiles, a sample every 50
//   npm run bench:compiler-memory -- --compiles 200 --every 25
//   npm run bench:compiler-memory -- --recycle-after 0 --max-heap-mb 0   # unbounded (before issue 9)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Compiler } from '../packages/server/src/compiler/index.ts'
import { loadConfig } from '../packages/server/src/config.ts'

const { values } = parseArgs({
  options: {
    compiles: { type: 'string', default: '600' },
    every: { type: 'string', default: '50' },
    'recycle-after': { type: 'string' },
    'max-heap-mb': { type: 'string' },
  },
})
const compiles = Number(values.compiles)
const every = Number(values.every)
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

const cacheDir = mkdtempSync(join(tmpdir(), 'edgeforge-bench-compiler-'))
const defaults = loadConfig({})
const recycleAfter = Number(values['recycle-after'] ?? defaults.typeCheckRecycleAfter)
const maxHeapMb = Number(values['max-heap-mb'] ?? defaults.typeCheckMaxHeapMb)
console.log(
  `type checker: heap limit ${maxHeapMb || "V8's default"} MB, recycled after ${recycleAfter || '∞'} compiles`,
)
const compiler = new Compiler({
  cacheDir,
  typeCheck: true,
  typeCheckRecycleAfter: recycleAfter,
  typeCheckMaxHeapMb: maxHeapMb,
})
const gc = (globalThis as { gc?: () => void }).gc
const sample = (label: string) => {
  gc?.()
  const { rss, heapUsed } = process.memoryUsage()
  console.log(
    `${label.padEnd(22)} rss ${mb(rss).padStart(5)} MB   main heap ${mb(heapUsed).padStart(4)} MB   checker workers started ${compiler.typeCheckWorkersStarted}`,
  )
}

sample('before the checker')
await compiler.warmUp()
sample('warm, 0 compiles')
for (let i = 1; i <= compiles; i += 1) {
  // Distinct names and bodies, as distinct endpoints are: each is a new file to the checker.
  const source = `import { handler, Response } from '@edgeforge/sdk'
interface Reply${i} { n: number; name: string; tags: string[] }
export default handler(async (req) => {
  const reply: Reply${i} = { n: ${i}, name: req.query.name ?? 'x${i}', tags: [req.method] }
  return Response.json(200, reply)
})
`
  const result = await compiler.compile({ source, filename: `endpoint-${i}.ts`, dependencies: {} })
  if (!result.ok) throw new Error(`compile ${i} failed: ${JSON.stringify(result.diagnostics)}`)
  if (i % every === 0) sample(`after ${i} compiles`)
}
compiler.close()
rmSync(cacheDir, { recursive: true, force: true })
