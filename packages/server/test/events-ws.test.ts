import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import { sweepEvents } from '../src/jobs/index.ts'
import { expectStatus } from './support/endpoints.ts'
import { assertResumes, isWs, recordRun, recordTwoRuns, type SseFrame, WsClient } from './support/events.ts'
import { startTestServer, type TestServer } from './support/server.ts'

/*
 * The WebSocket form of the event streams: the same paths, credentials, scopes and frames as the
 * SSE form (one JSON text message per frame), resumable with ?cursor=, and cursor, job and scope
 * refusals answered with an HTTP status instead of an upgrade.
 */

const ROOT = 'events-ws-root-token-0123456789abcdef'
const auth = (token: string) => ({ authorization: `Bearer ${token}` })

async function open(srv: TestServer, path: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const opened = await WsClient.open(srv.controlUrl + path, { ...auth(ROOT), ...headers })
  assert.ok(isWs(opened), `the socket ${path} did not open: ${JSON.stringify(opened)}`)
  return opened
}

async function refused(srv: TestServer, path: string, headers: Record<string, string> = auth(ROOT)) {
  const opened = await WsClient.open(srv.controlUrl + path, headers)
  if (isWs(opened)) {
    opened.close()
    assert.fail(`the socket ${path} opened; it should have been refused`)
  }
  return opened
}

const types = (frames: SseFrame[]) => frames.map((frame) => String(frame.data.type))

/** A client's token holding exactly these scopes. */
async function token(srv: TestServer, name: string, scopes: string[]): Promise<string> {
  const made = await srv.api('POST', `/api/clients/${name}`, { scopes }, auth(ROOT))
  return (expectStatus(made, 201).body.data as { access_token: string }).access_token
}

test('event streams over WebSocket', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'event-heartbeat-ms': '200' })

  await t.test('a snapshot message first, then one message per event', async () => {
    const stream = await open(srv, '/events')
    const snapshot = await stream.next()
    assert.equal(snapshot.event, 'snapshot')
    assert.match(String(snapshot.data.cursor), /^\d+$/)
    assert.ok(Array.isArray((snapshot.data.snapshot as { queues: unknown[] }).queues))
    const jobId = await recordRun(srv, 'ws-a')
    const frames = await stream.events(5)
    assert.deepEqual(types(frames), ['enqueued', 'started', 'progress', 'log', 'succeeded'])
    assert.ok(frames.every((frame) => frame.data.job_id === jobId && frame.data.queue === 'ws-a'))
    const cursors = frames.map((frame) => Number(frame.data.cursor))
    assert.ok(cursors[0] > Number(snapshot.data.cursor))
    assert.ok(
      cursors.every((cursor, i) => i === 0 || cursor > cursors[i - 1]),
      `cursors ascend: ${cursors}`,
    )
    const log = frames[3].data.data as { lines: Array<{ offset: number; line: string }> }
    assert.deepEqual(
      log.lines.map((line) => [line.offset, line.line]),
      [
        [0, 'line one'],
        [1, 'line two'],
      ],
    )
    // Then idle: heartbeats carrying the last cursor, nothing else.
    assert.deepEqual(await stream.untilIdleAt(String(cursors[4])), [])
    stream.close()
  })

  await t.test('resuming from every cursor of a recorded run gives exactly the events after it', async () => {
    const { recorded, cursors } = await recordTwoRuns(
      srv,
      (path, headers) => open(srv, path, headers),
      'ws-b',
    )
    for (const [index, cursor] of cursors.entries())
      await assertResumes(
        () => open(srv, `/events?cursor=${cursor}`),
        recorded,
        cursors,
        index,
        `after cursor ${cursor}`,
      )
    // Last-Event-ID is SSE's; on a WebSocket it is not a cursor, so the stream starts with a snapshot.
    const header = await open(srv, '/events', { 'last-event-id': cursors[0] })
    assert.equal((await header.next()).event, 'snapshot')
    header.close()
  })

  await t.test('job and queue sockets carry only their job and queue', async () => {
    const other = await recordRun(srv, 'ws-c')
    const mine = await recordRun(srv, 'ws-d')
    const job = await open(srv, `/jobs/${mine}/events`)
    const first = await job.next()
    assert.equal(first.event, 'snapshot')
    assert.equal((first.data.snapshot as { job: { status: string } }).job.status, 'succeeded')
    job.close()
    const queue = await open(srv, '/queue/ws-c/events?cursor=0')
    const head = (await queue.untilHeartbeat()).heartbeat.data.cursor as string
    queue.close()
    const again = await open(srv, '/queue/ws-c/events?cursor=0')
    const queued = await again.untilIdleAt(head)
    again.close()
    assert.deepEqual(types(queued), ['enqueued', 'started', 'progress', 'log', 'succeeded'])
    assert.ok(queued.every((frame) => frame.data.job_id === other))
  })

  await t.test('a bad cursor or a missing job is an HTTP status, not an upgrade', async () => {
    for (const cursor of ['abc', '-1', '01', '99999999999999999']) {
      const reply = await refused(srv, `/events?cursor=${encodeURIComponent(cursor)}`)
      assert.equal(reply.status, 400, cursor)
      assert.equal(reply.body.error.code, 'cursor_malformed', cursor)
      assert.match(reply.body.error.message, /cursor/)
    }
    const missing = await refused(srv, '/jobs/no-such-job/events')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, 'not_found')

    const before = await open(srv, '/events')
    const snapshot = await before.next()
    before.close()
    await recordRun(srv, 'ws-e')
    assert.ok((await sweepEvents(srv.server.jobs.engine.db, Date.now() + 1000)) >= 5)
    const expired = await refused(srv, `/events?cursor=${snapshot.data.cursor}`)
    assert.equal(expired.status, 410)
    assert.equal(expired.body.error.code, 'cursor_expired')
    assert.match(expired.body.error.message, /snapshot/)
  })

  await t.test('credentials and scopes: the same checks as the SSE routes', async () => {
    const none = await refused(srv, '/events', {})
    assert.equal(none.status, 401)
    const wrong = await refused(srv, '/events', auth('not-a-valid-token-0123456789abcdef'))
    assert.equal(wrong.status, 401)

    const reader = await token(srv, 'ws-reader', ['events:read:*', 'jobs:read:ws-ok'])
    const stream = await open(srv, '/events', auth(reader))
    const snapshot = await stream.next()
    const queues = (snapshot.data.snapshot as { queues: Array<{ queue: string }> }).queues
    assert.ok(
      queues.every((row) => row.queue === 'ws-ok'),
      `snapshot shows ${queues.map((row) => row.queue)}`,
    )
    await recordRun(srv, 'ws-secret')
    const ok = await recordRun(srv, 'ws-ok')
    const frames = await stream.events(5)
    assert.ok(frames.every((frame) => frame.data.job_id === ok))
    stream.close()

    const denied = await refused(srv, '/queue/ws-secret/events', auth(reader))
    assert.equal(denied.status, 403)
    assert.equal(denied.body.error.code, 'insufficient_scopes')
    const jobsOnly = await token(srv, 'ws-jobs-only', ['jobs:read:ws-ok'])
    const noEvents = await refused(srv, '/events', auth(jobsOnly))
    assert.equal(noEvents.status, 403)
    assert.match(noEvents.body.error.message, /events:read/)
  })

  await t.test('an upgrade on a path that is not an event stream is dropped', async () => {
    const { port, hostname } = new URL(srv.controlUrl)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `GET /jobs HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${ROOT}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        )
      })
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        text += chunk
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    assert.equal(answer, '')
  })
})
