import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pino from 'pino'
import { backends, engineFor } from '../../../test/support/jobs.ts'
import { createControlApp } from '../../http/app.ts'
import { migrate } from '../../store/index.ts'
import { createCronScheduler } from '../engine/cron.ts'
import { jobsRoutes } from './routes.ts'

type Row = Record<string, unknown>

for (const [backend, open] of backends) {
  describe(`job logs on ${backend}`, () => {
    async function serve(t: Parameters<typeof open>[0]) {
      const store = await open(t)
      if (!store) return undefined
      const engine = engineFor(store)
      const schemaVersion = await migrate(store.db)
      const app = await createControlApp({
        logger: pino({ level: 'silent' }),
        adminToken: '',
        version: 'test',
      })
      jobsRoutes(app, {
        engine,
        cron: createCronScheduler(engine),
        db: store.db,
        schemaVersion,
        bootedAt: Date.now(),
      })
      await app.ready()
      store.defer(() => app.close())
      const get = async (url: string) => {
        const response = await app.inject({ method: 'GET', url })
        return { status: response.statusCode, body: response.json() as { data: Row; error?: Row } }
      }
      return { engine, get }
    }

    test('chunks land at their offsets; a resent chunk stores nothing twice; pages read in order', async (t) => {
      const served = await serve(t)
      if (!served) return
      const { engine, get } = served
      const { job } = await engine.enqueue({ queue: 'q' })
      const lines = (from: number, count: number) =>
        Array.from({ length: count }, (_, index) => [1000 + from + index, `line ${from + index}`] as const)
      assert.equal(await engine.nextLogOffset(job.id), 0)
      assert.equal(await engine.appendLogChunk(job.id, 0, lines(0, 3)), true)
      // A reconnecting worker resends 1..4: 1 and 2 are kept as stored, 3 and 4 are new.
      assert.equal(await engine.appendLogChunk(job.id, 1, lines(1, 4)), true)
      assert.equal(await engine.nextLogOffset(job.id), 5)
      assert.equal(await engine.appendLogChunk('01900000-0000-7000-8000-000000000000', 0, lines(0, 1)), false)

      const first = await get(`/jobs/${job.id}/log?start=0&limit=2`)
      assert.equal(first.status, 200)
      assert.deepEqual(
        (first.body.data.lines as Row[]).map((line) => [line.offset, line.line]),
        [
          [0, 'line 0'],
          [1, 'line 1'],
        ],
      )
      assert.equal(first.body.data.next_start, 2)
      const rest = await get(`/jobs/${job.id}/log?start=2`)
      assert.deepEqual(
        (rest.body.data.lines as Row[]).map((line) => line.line),
        ['line 2', 'line 3', 'line 4'],
      )
      assert.equal(rest.body.data.next_start, 5)
      const past = await get(`/jobs/${job.id}/log?start=5`)
      assert.deepEqual(past.body.data, { lines: [], next_start: 5 })

      assert.equal((await get('/jobs/01900000-0000-7000-8000-000000000000/log')).status, 404)
      const badLimit = await get(`/jobs/${job.id}/log?limit=0`)
      assert.equal(badLimit.status, 400)
      assert.equal(badLimit.body.error?.code, 'validation_failed')
      assert.equal((await get(`/jobs/${job.id}/log?start=-1`)).status, 400)
    })

    test('GET /jobs/{id} shows the last 100 lines and the count, however long the log is', async (t) => {
      const served = await serve(t)
      if (!served) return
      const { engine, get } = served
      const { job } = await engine.enqueue({ queue: 'q' })
      const chunk = Array.from({ length: 250 }, (_, index) => [index, `n${index}`] as const)
      await engine.appendLogChunk(job.id, 0, chunk)
      const { body } = await get(`/jobs/${job.id}`)
      const logs = body.data.logs as Row[]
      assert.equal(body.data.log_lines, 250)
      assert.equal(logs.length, 100)
      assert.equal(logs[0].line, 'n150')
      assert.equal(logs[99].line, 'n249')
    })

    test("the runner's lines keep their order and offsets when the handler logs faster than the store", async (t) => {
      const served = await serve(t)
      if (!served) return
      const { engine, get } = served
      const { job } = await engine.enqueue({ queue: 'q' })
      await engine.appendLog(job.id, 'an earlier attempt')
      for (let index = 0; index < 500; index += 1) {
        engine.logs.append(job.id, `fast ${index}`)
        if (index % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await engine.logs.close(job.id)
      const { body } = await get(`/jobs/${job.id}/log?limit=1000`)
      const lines = body.data.lines as Row[]
      assert.equal(lines.length, 501)
      assert.deepEqual(
        lines.map((line) => line.offset),
        lines.map((_, index) => index),
      )
      assert.equal(lines[0].line, 'an earlier attempt')
      assert.deepEqual(
        lines.slice(1).map((line) => line.line),
        Array.from({ length: 500 }, (_, index) => `fast ${index}`),
      )
    })
  })
}
