import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventBounds } from '../src/jobs/events/sql.ts'
import { sweepEvents } from '../src/jobs/index.ts'
import { expectStatus } from './support/endpoints.ts'
import {
  assertResumes,
  isClient,
  recordRun,
  recordTwoRuns,
  SseClient as Sse,
  type SseClient,
  type SseFrame,
} from './support/events.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { startTestServer, type TestServer } from './support/server.ts'

/*
 * Event streams: one monotone cursor over the store, a snapshot first, resumable from any cursor
 * with exactly the events after it, typed answers for malformed and expired cursors, heartbeats
 * carrying the cursor, scope filtering, and two gateway processes on one PostgreSQL database.
 */

const ROOT = 'events-root-token-0123456789abcdef'
const auth = (token: string) => ({ authorization: `Bearer ${token}` })

async function open(srv: TestServer, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const opened = await Sse.open(srv.controlUrl + path, { ...auth(ROOT), ...headers })
  assert.ok(isClient(opened), `the stream ${path} did not open: ${JSON.stringify(opened)}`)
  return opened
}

async function eventHead(srv: TestServer): Promise<number> {
  return (await eventBounds(srv.server.jobs.engine.db)).head
}

function types(frames: SseFrame[]): string[] {
  return frames.map((frame) => String(frame.data.type))
}

for (const backend of ['SQLite', 'PostgreSQL'] as const)
  test(`event streams on one process (${backend})`, async (t) => {
    // On PostgreSQL events are stored packed, several a row: the same contract over the same API.
    const url = backend === 'PostgreSQL' ? await freshPostgresUrl(t) : undefined
    if (backend === 'PostgreSQL' && !url) return
    const srv = await startTestServer(t, {
      ...(url ? { 'database-url': url } : {}),
      'admin-token': ROOT,
      'event-heartbeat-ms': '200',
    })

    await t.test('a snapshot first, then every event with its cursor as the SSE id', async () => {
      const stream = await open(srv, '/events')
      const snapshot = await stream.next()
      assert.equal(snapshot.event, 'snapshot')
      assert.match(String(snapshot.data.cursor), /^\d+$/)
      assert.equal(snapshot.id, snapshot.data.cursor)
      const jobId = await recordRun(srv, 'ev-a')
      const frames = await stream.events(5)
      assert.deepEqual(types(frames), ['enqueued', 'started', 'progress', 'log', 'succeeded'])
      for (const frame of frames) {
        assert.equal(frame.data.job_id, jobId)
        assert.equal(frame.data.queue, 'ev-a')
        assert.equal(frame.id, frame.data.cursor)
      }
      const cursors = frames.map((frame) => Number(frame.id))
      assert.ok(
        cursors.every((cursor, i) => i === 0 || cursor > cursors[i - 1]),
        `cursors ascend: ${cursors}`,
      )
      assert.ok(cursors[0] > Number(snapshot.data.cursor))
      const log = frames[3].data.data as { offset: number; lines: Array<{ offset: number; line: string }> }
      assert.deepEqual(
        log.lines.map((line) => [line.offset, line.line]),
        [
          [0, 'line one'],
          [1, 'line two'],
        ],
      )
      stream.close()
    })

    await t.test(
      'resuming from every cursor of a recorded run gives exactly the events after it',
      async () => {
        const { recorded, cursors } = await recordTwoRuns(
          srv,
          (path, headers) => open(srv, path, headers),
          'ev-b',
        )
        for (const [index, cursor] of cursors.entries()) {
          const viaQuery = index % 2 === 0
          await assertResumes(
            () =>
              viaQuery
                ? open(srv, `/events?cursor=${cursor}`)
                : open(srv, '/events', { 'last-event-id': cursor }),
            recorded,
            cursors,
            index,
            `after cursor ${cursor} (${viaQuery ? '?cursor=' : 'Last-Event-ID'})`,
          )
        }
      },
    )

    await t.test('a job stream and a queue stream carry only their job and queue', async () => {
      const other = await recordRun(srv, 'ev-c')
      const mine = await recordRun(srv, 'ev-d')
      const job = await open(srv, `/jobs/${mine}/events?cursor=0`)
      const head = String(await eventHead(srv))
      const before = await job.untilIdleAt(head)
      job.close()
      assert.deepEqual(types(before), ['enqueued', 'started', 'progress', 'log', 'succeeded'])
      assert.ok(before.every((frame) => frame.data.job_id === mine))
      const queue = await open(srv, '/queue/ev-c/events?cursor=0')
      const queued = await queue.untilIdleAt(head)
      queue.close()
      assert.ok(queued.length >= 5)
      assert.ok(queued.every((frame) => frame.data.job_id === other && frame.data.queue === 'ev-c'))
      const fresh = await open(srv, `/jobs/${mine}/events`)
      const first = await fresh.next()
      fresh.close()
      assert.equal(first.event, 'snapshot')
      assert.equal((first.data.snapshot as { job: { id: string; status: string } }).job.status, 'succeeded')
      const missing = await Sse.open(`${srv.controlUrl}/jobs/no-such-job/events`, auth(ROOT))
      assert.equal(missing.status, 404)
    })

    await t.test('a malformed cursor is 400 cursor_malformed, one past the newest event too', async () => {
      for (const cursor of ['abc', '-1', '01', '1.5', '99999999999999999']) {
        const reply = await Sse.open(
          `${srv.controlUrl}/events?cursor=${encodeURIComponent(cursor)}`,
          auth(ROOT),
        )
        assert.ok(!isClient(reply))
        assert.equal(reply.status, 400, cursor)
        assert.equal(reply.body.error.code, 'cursor_malformed', cursor)
        assert.match(reply.body.error.message, /cursor/)
      }
      const header = await Sse.open(`${srv.controlUrl}/events`, { ...auth(ROOT), 'last-event-id': 'x' })
      assert.equal(header.status, 400)
    })

    await t.test(
      'a cursor at or before the swept horizon is 410 cursor_expired; no cursor still works',
      async () => {
        const before = await open(srv, '/events')
        const snapshot = await before.next()
        before.close()
        await recordRun(srv, 'ev-e')
        const swept = await sweepEvents(srv.server.jobs.engine.db, Date.now() + 1000)
        assert.ok(swept >= 5)
        const expired = await Sse.open(`${srv.controlUrl}/events?cursor=${snapshot.data.cursor}`, auth(ROOT))
        assert.ok(!isClient(expired))
        assert.equal(expired.status, 410)
        assert.equal(expired.body.error.code, 'cursor_expired')
        assert.match(expired.body.error.message, /snapshot/)
        const again = await open(srv, '/events')
        const fresh = await again.next()
        assert.equal(fresh.event, 'snapshot')
        await recordRun(srv, 'ev-e')
        assert.deepEqual(types(await again.events(5)), [
          'enqueued',
          'started',
          'progress',
          'log',
          'succeeded',
        ])
        again.close()
      },
    )

    await t.test('scopes: the stream shows only the queues the caller may read', async () => {
      const made = await srv.api(
        'POST',
        '/api/clients/events-reader',
        { scopes: ['events:read:*', 'jobs:read:ev-ok'] },
        auth(ROOT),
      )
      const token = (expectStatus(made, 201).body.data as { access_token: string }).access_token
      const stream = await Sse.open(`${srv.controlUrl}/events`, auth(token))
      assert.ok(isClient(stream))
      const snapshot = await stream.next()
      const queues = (snapshot.data.snapshot as { queues: Array<{ queue: string }> }).queues.map(
        (q) => q.queue,
      )
      assert.ok(
        queues.every((queue) => queue === 'ev-ok'),
        `snapshot shows ${queues}`,
      )
      await recordRun(srv, 'ev-secret')
      const ok = await recordRun(srv, 'ev-ok')
      const frames = await stream.events(5)
      assert.ok(frames.every((frame) => frame.data.job_id === ok && frame.data.queue === 'ev-ok'))
      stream.close()
      const denied = await Sse.open(`${srv.controlUrl}/queue/ev-secret/events`, auth(token))
      assert.equal(denied.status, 403)
      const none = await srv.api(
        'POST',
        '/api/clients/events-none',
        { scopes: ['jobs:read:ev-ok'] },
        auth(ROOT),
      )
      const noneToken = (expectStatus(none, 201).body.data as { access_token: string }).access_token
      assert.equal((await Sse.open(`${srv.controlUrl}/events`, auth(noneToken))).status, 403)
    })
  })

test('events written by one process reach a subscriber on another (PostgreSQL)', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const a = await startTestServer(t, {
    'database-url': url,
    'admin-token': ROOT,
    'event-heartbeat-ms': '200',
  })
  const b = await startTestServer(t, {
    'database-url': url,
    'admin-token': ROOT,
    'event-heartbeat-ms': '200',
  })
  const onB = await open(b, '/events')
  t.after(() => onB.close())
  const snapshot = await onB.next()
  assert.equal(snapshot.event, 'snapshot')
  const jobs = [await recordRun(a, 'pg-x'), await recordRun(b, 'pg-x'), await recordRun(a, 'pg-x', true)]
  const frames = await onB.events(15, 10_000)
  assert.deepEqual(
    frames.map((frame) => frame.data.job_id),
    jobs.flatMap((id) => Array(5).fill(id)),
  )
  const ids = frames.map((frame) => Number(frame.id))
  assert.ok(
    ids.every((id, i) => i === 0 || id > ids[i - 1]),
    `cursors ascend: ${ids}`,
  )
  // The cursor of one process resumes on the other: the sequence is the store's.
  for (const index of [0, 7, 14]) {
    const resumed = await open(a, `/events?cursor=${frames[index].id}`)
    const before = await resumed.untilIdleAt(String(frames[14].id))
    resumed.close()
    assert.deepEqual(
      before.map((frame) => frame.id),
      frames.slice(index + 1).map((frame) => frame.id),
    )
  }
  // Concurrent writers in both processes: the subscriber sees every event once, in cursor order.
  const burst = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? a : b).server.jobs.engine.enqueue({ queue: 'pg-y', payload: i }),
    ),
  )
  await a.server.jobs.engine.events?.flush()
  await b.server.jobs.engine.events?.flush()
  const seen = await onB.events(20, 10_000)
  assert.deepEqual(new Set(seen.map((frame) => frame.data.job_id)), new Set(burst.map((r) => r.job.id)))
  const seenIds = seen.map((frame) => Number(frame.id))
  assert.ok(seenIds.every((id, i) => i === 0 || id > seenIds[i - 1]))
  await onB.untilIdleAt(String(seenIds[seenIds.length - 1]))
})
