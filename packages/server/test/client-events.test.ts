import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Edgeforge, EdgeforgeError, type EventFrame } from '@edgeforge/client'
import { startTestServer } from './support/server.ts'

// The client's event streams (`ef.events.all/queue/job`) against a real server: frames in order,
// cursors, errors before and during a stream. Resuming across a restart is cli-events.test.ts
// (the CLI follows through these methods).

const ROOT = 'root-token-for-client-event-tests-012345'

async function take(stream: AsyncIterable<EventFrame>, count: number): Promise<EventFrame[]> {
  const frames: EventFrame[] = []
  for await (const frame of stream) {
    if (frame.event === 'heartbeat') continue
    frames.push(frame)
    if (frames.length === count) break
  }
  return frames
}

test('client event streams: snapshot then events with cursors, resume after a cursor, typed errors', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'job-concurrency': '0' })
  const ef = new Edgeforge({ url: srv.controlUrl, accessToken: ROOT })

  const stream = ef.events.queue('client-q')
  const first = stream.next()
  const ids: string[] = []
  // The snapshot is sent as the stream opens; enqueue once it is there.
  const snapshot = (await first).value as EventFrame
  assert.equal(snapshot.event, 'snapshot')
  assert.match(String(snapshot.cursor), /^\d+$/)
  for (const payload of [1, 2, 3]) {
    const { data } = await ef.jobs.create({ queue: 'client-q', payload })
    if ('job' in data) ids.push(data.job.id)
  }
  const events = await take(stream, 3)
  assert.deepEqual(
    events.map((frame) => [frame.event, frame.data.type, frame.data.job_id]),
    ids.map((id) => ['event', 'enqueued', id]),
  )
  const cursors = events.map((frame) => Number(frame.cursor))
  assert.ok(cursors[0] > Number(snapshot.cursor) && cursors[1] > cursors[0] && cursors[2] > cursors[1])

  // From a cursor: no snapshot, exactly the events after it.
  const resumed = await take(ef.events.all({ cursor: events[0].cursor }), 2)
  assert.deepEqual(
    resumed.map((frame) => frame.data.job_id),
    ids.slice(1),
  )

  // A job's stream: its snapshot carries the job.
  const [jobSnapshot] = await take(ef.events.job(ids[0]), 1)
  assert.equal((jobSnapshot.data.snapshot as { job: { id: string } }).job.id, ids[0])

  // Refusals before the stream starts are EdgeforgeErrors with the server's code, not retried.
  await assert.rejects(take(ef.events.all({ cursor: 'abc' }), 1), (error: unknown) => {
    assert.ok(error instanceof EdgeforgeError)
    assert.equal(error.status, 400)
    assert.equal(error.code, 'cursor_malformed')
    return true
  })
  await assert.rejects(take(ef.events.job('no-such-job'), 1), { code: 'not_found', status: 404 })
  const anonymous = new Edgeforge({ url: srv.controlUrl })
  await assert.rejects(take(anonymous.events.all(), 1), { status: 401 })
})
