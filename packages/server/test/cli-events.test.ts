import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { spawnCaptured } from './support/child.ts'
import { BIN } from './support/cli.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

/*
 * `edgeforge events` and `edgeforge jobs logs --follow` run as child processes against a test
 * server: what they print, and `events` resuming from its last cursor after the server went away.
 */

/** Starts the CLI and keeps reading what it prints; killed when the test ends. */
function startCli(t: TestContext, args: string[]) {
  return spawnCaptured(t, [BIN, ...args])
}

interface EventFrame {
  frame: string
  cursor: string
  type?: string
  job_id?: string | null
}

const framesOf = (text: string): EventFrame[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as EventFrame)

/** The cursors of every event in the store after `after`, in order. */
async function storedCursorsAfter(srv: TestServer, after: string): Promise<string[]> {
  const rows = await srv.server.jobs.engine.db.all<{ id: number }>(
    'SELECT id FROM events WHERE id > ? ORDER BY id',
    [Number(after)],
  )
  return rows.map((row) => String(row.id))
}

/** The log lines a `jobs logs` run printed, without their timestamps. */
const logLines = (text: string): string[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^\S+Z /, ''))

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function enqueue(srv: TestServer, queue: string, payload: unknown = null): Promise<string> {
  const reply = await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue, payload })
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body.data.job.id
}

describe('the CLI follows streams', () => {
  test('events prints the snapshot, then every event once; after the server restarts it resumes from its last cursor', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-cli-events-'))
    t.after(() => rmSync(dataDir, { recursive: true, force: true }))
    const port = String(await freePort())
    const flags = { 'job-concurrency': '0', 'control-port': port }
    const first = await startTestServer(t, flags, { dataDir })
    const cli = startCli(t, ['events', '--json', '--url', first.controlUrl])
    const snapshot = await waitFor('the snapshot', () =>
      framesOf(cli.stdout()).find((f) => f.frame === 'snapshot'),
    )
    const before = [await enqueue(first, 'cli-q', 1), await enqueue(first, 'cli-q', 2)]
    await waitFor(
      'two events',
      () => framesOf(cli.stdout()).filter((f) => f.frame === 'event').length >= 2 || undefined,
    )

    // The server goes away mid-stream; events happen while the CLI is cut off, then after.
    await first.stop()
    const second = await startTestServer(t, flags, { dataDir })
    const during = [await enqueue(second, 'cli-q', 3), await enqueue(second, 'cli-q', 4)]
    await waitFor(
      'the CLI back, with the events it missed',
      () => framesOf(cli.stdout()).some((f) => f.frame === 'event' && f.job_id === during[1]) || undefined,
      10_000,
    )
    const after = await enqueue(second, 'cli-q', 5)
    await waitFor(
      'the event after the restart',
      () => framesOf(cli.stdout()).some((f) => f.frame === 'event' && f.job_id === after) || undefined,
      10_000,
    )
    cli.child.kill('SIGINT')
    assert.equal((await cli.exited).code, 0, cli.stderr())

    const frames = framesOf(cli.stdout())
    // Reconnected with its last cursor: no second snapshot, and nothing of the cut missed or repeated.
    assert.equal(frames.filter((f) => f.frame === 'snapshot').length, 1, 'one snapshot: the resume has none')
    const events = frames.filter((f) => f.frame === 'event')
    assert.deepEqual(
      events.map((f) => f.cursor),
      await storedCursorsAfter(second, snapshot.cursor),
      'every stored event after the snapshot, once, in order',
    )
    assert.deepEqual(
      events.filter((f) => f.type === 'enqueued').map((f) => f.job_id),
      [...before, ...during, after],
    )

    // --cursor: exactly the events after it, no snapshot; without --json, one line per event.
    const from = events[2].cursor
    const resumed = startCli(t, ['events', '--cursor', from, '--queue', 'cli-q', '--url', second.controlUrl])
    await waitFor(
      'the events after the cursor',
      () => resumed.stdout().split('\n').filter(Boolean).length >= 2 || undefined,
    )
    resumed.child.kill('SIGINT')
    assert.equal((await resumed.exited).code, 0, resumed.stderr())
    const lines = resumed.stdout().split('\n').filter(Boolean)
    assert.equal(lines.length, 2, resumed.stdout())
    assert.match(lines[0], new RegExp(`^\\S+Z cli-q ${during[1]} enqueued$`))
    assert.match(lines[1], new RegExp(`^\\S+Z cli-q ${after} enqueued$`))

    // A malformed or expired cursor is the server's typed answer, and exit code 1.
    const bad = startCli(t, ['events', '--cursor', '99999999', '--url', second.controlUrl])
    assert.equal((await bad.exited).code, 1)
    assert.match(bad.stderr(), /cursor_malformed/)
    await second.stop()
  })

  test('jobs logs --follow prints lines as a running job logs them and ends with the job', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '1' })
    const created = await srv.api<{ id: string }>('POST', '/api/endpoints', {
      name: 'talker',
      kind: 'job',
      queue: 'talk',
      code: `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  for await (const message of ctx.input) {
    ctx.log('said', String(message))
    if (message === 'bye') break
  }
})`,
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    const deployed = await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`)
    assert.ok(deployed.status < 300, JSON.stringify(deployed.body))
    const id = await enqueue(srv, 'talk')
    await waitFor('the job to run', async () =>
      (await srv.api<{ status: string }>('GET', `/jobs/${id}`)).body.data.status === 'running'
        ? true
        : undefined,
    )
    const cli = startCli(t, ['jobs', 'logs', id, '--follow', '--url', srv.controlUrl])
    for (const word of ['hello', 'again']) {
      assert.equal((await srv.api('POST', `/jobs/${id}/input`, { message: word })).status, 200)
      await waitFor(
        `"${word}" printed while the job runs`,
        () => cli.stdout().includes(`said ${word}\n`) || undefined,
      )
    }
    assert.equal(cli.child.exitCode, null, 'still following')
    assert.equal((await srv.api('POST', `/jobs/${id}/input`, { message: 'bye' })).status, 200)
    assert.equal((await cli.exited).code, 0, cli.stderr())
    assert.deepEqual(logLines(cli.stdout()), ['said hello', 'said again', 'said bye'])
    assert.match(cli.stderr(), /\(job succeeded\)/)

    // Following a job that has finished prints its whole log and ends; an unknown job is refused.
    const again = startCli(t, ['jobs', 'logs', id, '--follow', '--start', '1', '--url', srv.controlUrl])
    assert.equal((await again.exited).code, 0, again.stderr())
    assert.deepEqual(logLines(again.stdout()), ['said again', 'said bye'])
    const missing = startCli(t, ['jobs', 'logs', 'no-such-job', '--follow', '--url', srv.controlUrl])
    assert.notEqual((await missing.exited).code, 0)
    assert.match(missing.stderr(), /not_found|no job/i)
  })
})
