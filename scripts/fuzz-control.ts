import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../packages/server/src/config.ts'
import { startServer } from '../packages/server/src/main.ts'
import { createLogger } from '../packages/server/src/observability/logger.ts'
import { fuzzControlPlane } from '../packages/server/test/support/control-fuzz.ts'
import { seedControlPlane } from '../packages/server/test/support/fuzz-seed.ts'

// npm run fuzz:control — the long run of the control plane's property-based fuzzing (the bounded
// run is packages/server/test/control-fuzz.test.ts). FUZZ_RUNS (default 3000) and FUZZ_SEED.
const runs = Number(process.env.FUZZ_RUNS ?? 3000)
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31
const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-fuzz-'))
const config = loadConfig(
  {},
  {
    'data-dir': dataDir,
    'gateway-host': '127.0.0.1',
    'gateway-port': '0',
    'control-port': '0',
    'log-level': 'silent',
    'warm-compiler': 'false',
    'type-check': 'false',
  },
)
const server = await startServer(config, createLogger(config.logLevel))
try {
  const seeded = await seedControlPlane(server.controlUrl, server.gatewayUrl)
  const before = await seeded.snapshot()
  const startedAt = Date.now()
  console.log(`fuzzing ${server.controlUrl}: ${runs} requests, seed ${seed}`)
  const report = await fuzzControlPlane(server.controlUrl, { runs, seed, preexisting: seeded.pools })
  assert.deepEqual(await seeded.snapshot(), before, 'the records that existed before the run are unchanged')
  console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - startedAt) / 1000) }))
  console.log('ok: no 5xx, every answer as declared, invalid input refused, prior data intact')
} finally {
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
}
