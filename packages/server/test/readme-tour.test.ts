// The README's five-minute tour, kept true: the files it writes with `cat > x.ts <<'TS'` are the
// ones in examples/tour/ (so they are type-checked and linted with the project), and its job
// steps work as written: deploy with the CLI, one POST to the gateway, the job succeeds.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { edgeforge } from './support/cli.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const TOUR = join(ROOT, 'examples', 'tour')

/** The files the README's shell snippets create, by name. */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const files = new Map<string, string>()
  for (const [, name, body] of readme.matchAll(/cat > (\S+\.ts) <<'TS'\n([\s\S]*?\n)TS\n/g)) {
    files.set(name, body)
  }
  return files
}

test('every file the README tour writes is in examples/tour, byte for byte, and nothing else is', () => {
  const shown = readmeFiles()
  assert.deepEqual([...shown.keys()].sort(), readdirSync(TOUR).sort())
  for (const [name, body] of shown) {
    assert.equal(
      body,
      readFileSync(join(TOUR, name), 'utf8'),
      `README's ${name} differs from examples/tour/${name}`,
    )
  }
})

interface Job {
  status: string
  result: unknown
  logs: Array<{ line: string }>
}

test('the tour’s job steps: deploy a job handler and the signup endpoint, sign up, the job succeeds', async (t) => {
  const srv = await startTestServer(t)
  const cli = (...args: string[]) => edgeforge([...args, '--url', srv.controlUrl], TOUR)

  const worker = await cli('deploy', 'send-welcome.ts', '--queue', 'emails')
  assert.equal(worker.code, 0, worker.stderr)
  assert.match(worker.stdout, /^deployed send-welcome v1 → queue emails/)
  const signup = await cli('deploy', 'signup.ts', '--path', '/signup', '--method', 'POST')
  assert.equal(signup.code, 0, signup.stderr)

  const reply = await fetch(`${srv.gatewayUrl}/signup`, {
    method: 'POST',
    body: JSON.stringify({ email: 'ada@example.com' }),
  })
  assert.equal(reply.status, 202)
  const { job_id: jobId } = (await reply.json()) as { job_id: string }

  const job = await waitFor(
    'the signup job to finish',
    async () => {
      const seen = (await srv.api<Job>('GET', `/jobs/${jobId}`)).body.data
      return seen.status === 'queued' || seen.status === 'running' ? undefined : seen
    },
    10_000,
  )
  assert.equal(job.status, 'succeeded', JSON.stringify(job))
  assert.deepEqual(job.result, { sent: true })
  assert.deepEqual(
    job.logs.map((entry) => entry.line),
    ['sending to ada@example.com'],
  )
})
