import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Compiler } from './index.ts'

const handlerNumber = (n: number, body = `Response.text(200, 'v${n}')`) =>
  `import { handler, Response } from '@edgeforge/sdk'\nexport default handler(() => ${body})\n`

test('the type checker worker is replaced by a fresh one after typeCheckRecycleAfter checks, and keeps checking right', async (t) => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'edgeforge-recycle-'))
  const compiler = new Compiler({ cacheDir, typeCheckRecycleAfter: 3 })
  t.after(() => {
    compiler.close()
    rmSync(cacheDir, { recursive: true, force: true })
  })
  for (let n = 1; n <= 7; n += 1) {
    // Every other one has a type error: the fresh worker must still find it.
    const bad = n % 2 === 0
    const result = await compiler.compile({
      source: handlerNumber(n, bad ? `Response.text('not a status', 'x')` : undefined),
      filename: `h${n}.ts`,
      dependencies: {},
    })
    assert.equal(result.ok, !bad, `compile ${n}: ${JSON.stringify(result)}`)
    if (!result.ok) assert.equal(result.stage, 'typecheck')
  }
  // One worker for checks 1–3, a fresh one after the 3rd and another after the 6th.
  assert.equal(compiler.typeCheckWorkersStarted, 3)
})

test('without typeCheckRecycleAfter one worker serves every check', async (t) => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'edgeforge-recycle-'))
  const compiler = new Compiler({ cacheDir })
  t.after(() => {
    compiler.close()
    rmSync(cacheDir, { recursive: true, force: true })
  })
  for (let n = 1; n <= 4; n += 1)
    assert.ok(
      (await compiler.compile({ source: handlerNumber(n), filename: `h${n}.ts`, dependencies: {} })).ok,
    )
  assert.equal(compiler.typeCheckWorkersStarted, 1)
})

test('a worker that runs out of its heap limit fails the check with a message saying so, once retried on a fresh worker', async (t) => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'edgeforge-recycle-'))
  // Far too small for lib.dom and the SDK: every worker dies parsing them.
  const compiler = new Compiler({ cacheDir, typeCheckMaxHeapMb: 8 })
  t.after(() => {
    compiler.close()
    rmSync(cacheDir, { recursive: true, force: true })
  })
  const result = await compiler.compile({ source: handlerNumber(1), filename: 'h1.ts', dependencies: {} })
  assert.equal(result.ok, false)
  assert.ok(!result.ok && result.stage === 'typecheck')
  assert.match(result.diagnostics[0]?.message ?? '', /ran out of its 8 MB heap/)
  assert.equal(compiler.typeCheckWorkersStarted, 2)
})
