import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fuzzControlPlane } from './support/control-fuzz.ts'
import { seedControlPlane } from './support/fuzz-seed.ts'
import { startTestServer } from './support/server.ts'

// A bounded run of the property-based fuzzing of the control plane (issue 9, "Proof expected");
// `npm run fuzz:control` runs it longer. FUZZ_RUNS and FUZZ_SEED override the defaults.

test('fuzzing every declared operation: no 5xx, answers as declared, invalid input refused, prior data intact', async (t) => {
  const srv = await startTestServer(t, { 'type-check': 'false' })
  const seeded = await seedControlPlane(srv.controlUrl, srv.gatewayUrl)
  const before = await seeded.snapshot()
  const report = await fuzzControlPlane(srv.controlUrl, {
    runs: Number(process.env.FUZZ_RUNS ?? 200),
    seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
    preexisting: seeded.pools,
  })
  t.diagnostic(JSON.stringify(report))
  assert.ok(report.invalid > 0, 'some requests were invalid on purpose')
  assert.deepEqual(await seeded.snapshot(), before, 'the records that existed before the run are unchanged')
})
