import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { backends } from '../../../test/support/backends.ts'
import type { Db } from '../../store/index.ts'
import {
  type EventFilter,
  type EventRow,
  eventBounds,
  insertEvents,
  matches,
  type NewEvent,
  readEventPage,
  readEvents,
  sweepEvents,
} from './sql.ts'

/** `count` events over three queues and five jobs, some with data (one long enough to split a row). */
function makeEvents(count: number, from: number, at = 1_000_000): NewEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i
    const data: Record<string, unknown> =
      n % 7 === 0
        ? { attempt: n, note: 'ü "quoted" \\ job-1' }
        : n % 29 === 0
          ? { error: 'x'.repeat(3000) }
          : {}
    return {
      at: at + n,
      type: ['enqueued', 'started', 'succeeded'][n % 3],
      queue: n % 11 === 0 ? null : `q${n % 3}`,
      jobId: n % 13 === 0 ? null : `job-${n % 5}`,
      data,
    }
  })
}

const strip = (events: readonly EventRow[]) =>
  events.map(({ at, type, queue, jobId, data }) => ({ at, type, queue, jobId, data }))

/** Every page from `after` to the end, `limit` events a read, as a client that resumes would. */
async function pageThrough(
  db: Db,
  after: number,
  limit: number,
  filter: EventFilter = {},
): Promise<EventRow[]> {
  const out: EventRow[] = []
  let cursor = after
  for (let reads = 0; reads < 100_000; reads += 1) {
    const page = await readEventPage(db, cursor, limit, filter)
    assert.ok(page.events.length <= limit)
    for (const event of page.events) assert.ok(event.id > cursor && event.id <= page.through)
    out.push(...page.events)
    if (page.complete) return out
    assert.ok(page.through > cursor, 'a page that is not the last moves the cursor')
    cursor = page.through
  }
  throw new Error('no end')
}

for (const [backend, open] of backends) {
  describe(`event rows on ${backend}`, () => {
    const setup = (t: TestContext) => open(t)

    test('batches of any size read back in order, from every cursor, whole and filtered', async (t) => {
      const db = await setup(t)
      if (!db) return
      const written: NewEvent[] = []
      let head = 0
      for (const size of [1, 7, 50, 51, 130, 2, 64]) {
        const batch = makeEvents(size, written.length)
        written.push(...batch)
        const newHead = await insertEvents(db, batch)
        assert.ok(newHead > head)
        head = newHead
      }
      assert.equal((await eventBounds(db)).head, head)
      if (backend === 'postgres') {
        // Packed: a row per batch, and more where 50 events or about 6 kB are reached.
        const rows = await db.get<{ n: number }>('SELECT count(*) AS n FROM events')
        assert.ok(Number(rows?.n) <= 14, `${rows?.n} rows`)
      }
      const all = await readEvents(db, 0, 100_000)
      assert.deepEqual(strip(all), strip(written.map((e) => ({ ...e, id: 0 }))))
      for (let i = 1; i < all.length; i += 1) assert.ok(all[i].id > all[i - 1].id)
      assert.equal(all[all.length - 1].id, head)
      for (let from = 0; from <= all.length; from += 1) {
        const cursor = from === 0 ? 0 : all[from - 1].id
        const expected = all.slice(from)
        assert.deepEqual(await readEvents(db, cursor, 100_000), expected, `from ${cursor}`)
        if (from % 17 === 0) {
          assert.deepEqual(await pageThrough(db, cursor, 3), expected, `pages of 3 from ${cursor}`)
          for (const filter of [{ queue: 'q1' }, { jobId: 'job-1' }, { queue: 'q2', jobId: 'job-3' }]) {
            const want = expected.filter((event) => matches(event, filter))
            assert.deepEqual(
              await pageThrough(db, cursor, 4, filter),
              want,
              `${JSON.stringify(filter)} from ${cursor}`,
            )
            assert.deepEqual(await readEvents(db, cursor, 1000, filter), want)
          }
        }
      }
      // A value that only appears in another job's data is not that job's event.
      assert.deepEqual(await readEvents(db, 0, 1000, { jobId: 'job-1"' }), [])
      assert.deepEqual(await readEvents(db, 0, 1000, { queue: 'nowhere' }), [])
    })

    test('the sweep deletes whole old rows and moves the horizon to their last cursor', async (t) => {
      const db = await setup(t)
      if (!db) return
      await insertEvents(db, makeEvents(120, 0, 1000))
      await insertEvents(db, makeEvents(120, 120, 1_000_000))
      const all = await readEvents(db, 0, 10_000)
      // Every event of the first batch is older than 2000; none of the second.
      assert.equal(await sweepEvents(db, 2000, 2), 120)
      const { head, sweptThrough } = await eventBounds(db)
      assert.equal(sweptThrough, all[119].id)
      assert.equal(head, all[239].id)
      assert.deepEqual(await readEvents(db, sweptThrough, 10_000), all.slice(120))
      assert.equal(await sweepEvents(db, Number.MAX_SAFE_INTEGER), 120)
      assert.deepEqual(await eventBounds(db), { head: all[239].id, sweptThrough: all[239].id })
      const next = await insertEvents(db, makeEvents(3, 0))
      assert.ok(next > all[239].id)
      assert.equal((await readEvents(db, all[239].id, 10)).length, 3)
    })

    if (backend === 'postgres') {
      test('packed rows are stored lz4-compressed where the server has lz4 (migration 0034)', async (t) => {
        const db = await setup(t)
        if (!db) return
        const lz4 = await db.get<{ yes: boolean }>(
          "SELECT 'lz4' = ANY(enumvals) AS yes FROM pg_settings WHERE name = 'default_toast_compression'",
        )
        if (!lz4?.yes) return t.skip('this PostgreSQL is built without lz4: rows stay uncompressed')
        // 50 events of the kind a runner writes: about 4 kB of JSON in one row.
        const batch = Array.from({ length: 50 }, (_, i) => ({
          at: 1_000_000 + i,
          type: 'started',
          queue: 'mail',
          jobId: `0193a5b2-7c1d-7${String(i).padStart(3, '0')}-8abc-1234567890ab`,
          data: { attempt: 1, worker: 'host:1234:abcd1234' },
        }))
        const head = await insertEvents(db, batch)
        const row = await db.get<{ method: string | null; stored: number; text: number }>(
          `SELECT pg_column_compression(packed) AS method, pg_column_size(packed) AS stored,
             octet_length(packed) AS text FROM events WHERE id <= ? ORDER BY id DESC LIMIT 1`,
          [head],
        )
        assert.equal(row?.method, 'lz4')
        assert.ok(Number(row?.stored) < Number(row?.text) / 2, `stored ${row?.stored} of ${row?.text} bytes`)
        assert.deepEqual(strip(await readEvents(db, 0, 100)), batch)
      })

      test('rows written before packing (one event each) read among packed ones', async (t) => {
        const db = await setup(t)
        if (!db) return
        // What the previous version writes: one row an event, its id from the sequence.
        const legacy = async (n: number) => {
          for (const event of makeEvents(3, n))
            await db.run('INSERT INTO events (at, type, queue, job_id, data) VALUES (?, ?, ?, ?, ?)', [
              event.at,
              event.type,
              event.queue,
              event.jobId,
              Object.keys(event.data).length > 0 ? JSON.stringify(event.data) : null,
            ])
        }
        await legacy(0)
        await insertEvents(db, makeEvents(60, 3))
        await legacy(63)
        await insertEvents(db, makeEvents(5, 66))
        const all = await readEvents(db, 0, 10_000)
        assert.deepEqual(strip(all), strip(makeEvents(71, 0).map((e) => ({ ...e, id: 0 }))))
        assert.deepEqual(
          all.map((e) => e.id),
          Array.from({ length: 71 }, (_, i) => i + 1),
        )
        for (let from = 0; from < all.length; from += 1) {
          const cursor = from === 0 ? 0 : all[from - 1].id
          assert.deepEqual(await pageThrough(db, cursor, 2), all.slice(from))
          const want = all.slice(from).filter((event) => event.queue === 'q0')
          assert.deepEqual(await pageThrough(db, cursor, 2, { queue: 'q0' }), want)
        }
      })

      test('concurrent writers get disjoint ranges; readers see every event once, in order', async (t) => {
        const db = await setup(t)
        if (!db) return
        const heads = await Promise.all(
          Array.from({ length: 8 }, (_, w) => insertEvents(db, makeEvents(40 + w, w * 100))),
        )
        assert.equal(new Set(heads).size, 8)
        const all = await readEvents(db, 0, 10_000)
        assert.equal(
          all.length,
          heads.reduce((sum, _, w) => sum + 40 + w, 0),
        )
        for (let i = 1; i < all.length; i += 1) assert.ok(all[i].id > all[i - 1].id)
        assert.equal(all[all.length - 1].id, Math.max(...heads))
      })
    }
  })
}
