import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backends, engineFor, manualClock } from '../../../test/support/jobs.ts'
import { createCronScheduler, fireKey } from './cron.ts'

const START = Date.UTC(2030, 0, 1, 0, 0, 30)

for (const [backend, open] of backends) {
  describe(`cron on ${backend}`, () => {
    test('two ticks for the same fire time enqueue once, with the fire-time dedup key', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock(START)
      const engine = engineFor(store, store.db, { now: clock.now })
      const cron = createCronScheduler(engine)
      const schedule = await cron.create({
        name: 'nightly',
        cron: '* * * * *',
        queue: 'reports',
        payload: { full: true },
      })
      assert.equal(schedule.timezone, 'UTC')
      assert.equal(schedule.nextFireAt, Date.UTC(2030, 0, 1, 0, 1))
      assert.equal(await cron.tick(), 0)
      clock.advance(30_000)
      assert.equal(await cron.tick(), 1)
      assert.equal(await cron.tick(), 0)
      const { jobs } = await engine.listJobs({ queue: 'reports' })
      assert.equal(jobs.length, 1)
      assert.equal(jobs[0].dedupKey, fireKey('nightly', Date.UTC(2030, 0, 1, 0, 1)))
      assert.equal(jobs[0].dedupKey, 'cron:nightly:2030-01-01T00:01:00.000Z')
      assert.deepEqual(jobs[0].payload, { full: true })
      const after = await cron.get('nightly')
      assert.equal(after.lastFiredAt, Date.UTC(2030, 0, 1, 0, 1))
      assert.equal(after.nextFireAt, Date.UTC(2030, 0, 1, 0, 2))
    })

    test('after downtime only the latest missed fire time runs', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock(START)
      const engine = engineFor(store, store.db, { now: clock.now })
      const cron = createCronScheduler(engine)
      await cron.create({ name: 'often', cron: '*/5 * * * *', queue: 'q' })
      clock.advance(3 * 3600_000)
      assert.equal(await cron.tick(), 1)
      const { jobs } = await engine.listJobs({ queue: 'q' })
      assert.deepEqual(
        jobs.map((job) => job.dedupKey),
        ['cron:often:2030-01-01T03:00:00.000Z'],
      )
    })

    test('two schedulers on one database fire each time exactly once', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock(START)
      const first = createCronScheduler(engineFor(store, store.db, { now: clock.now }))
      const second = createCronScheduler(engineFor(store, await store.connect(), { now: clock.now }))
      await first.create({ name: 'shared', cron: '* * * * *', queue: 'q' })
      let fired = 0
      for (let minute = 0; minute < 5; minute += 1) {
        clock.advance(60_000)
        const counts = await Promise.all([first.tick(), second.tick(), first.tick(), second.tick()])
        fired += counts.reduce((sum, n) => sum + n, 0)
      }
      assert.equal(fired, 5)
      const { jobs } = await createCronScheduler(engineFor(store))
        .get('shared')
        .then(async () => engineFor(store).listJobs({ queue: 'q', limit: 100 }))
      assert.equal(jobs.length, 5)
      assert.equal(new Set(jobs.map((job) => job.dedupKey)).size, 5)
    })

    test('schedules are stored, changed, disabled, triggered and deleted', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock(START)
      const engine = engineFor(store, store.db, { now: clock.now })
      const cron = createCronScheduler(engine)
      await cron.create({
        name: 'morning',
        cron: '0 9 * * *',
        timezone: 'America/New_York',
        queue: 'q',
        priority: 3,
      })
      assert.equal((await cron.get('morning')).nextFireAt, Date.UTC(2030, 0, 1, 14, 0))
      await assert.rejects(cron.create({ name: 'morning', cron: '* * * * *', queue: 'q' }), {
        code: 'conflict',
      })
      await assert.rejects(cron.create({ name: 'bad', cron: 'every minute', queue: 'q' }), {
        code: 'validation_failed',
        message: /cron "every minute" in zone UTC is not valid/,
      })
      await assert.rejects(
        cron.create({ name: 'bad', cron: '* * * * *', timezone: 'Mars/Base', queue: 'q' }),
        {
          code: 'validation_failed',
        },
      )
      const updated = await cron.update('morning', { cron: '30 * * * *', timezone: 'UTC', enabled: false })
      assert.equal(updated.nextFireAt, Date.UTC(2030, 0, 1, 0, 30))
      assert.equal(updated.enabled, false)
      clock.advance(3600_000)
      assert.equal(await cron.tick(), 0)
      const triggered = await cron.trigger('morning')
      assert.equal(triggered.job.priority, 3)
      assert.equal(triggered.job.dedupKey, fireKey('morning', clock.now()))
      assert.deepEqual(
        (await cron.list()).map((s) => s.name),
        ['morning'],
      )
      await cron.remove('morning')
      await assert.rejects(cron.get('morning'), { code: 'not_found' })
      await assert.rejects(cron.trigger('morning'), { code: 'not_found' })
    })
  })
}
