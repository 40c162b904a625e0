import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { spawnServe } from './support/child.ts'
import { waitFor } from './support/wait.ts'

const JOBS = 24

/** A job handler that records, per process, when it starts and when it finishes a job. */
const WORKER = `import { appendFileSync } from 'node:fs'
import { job } from '@edgeforge/sdk'
export default job<{ file: string }>(async (payload, ctx) => {
  appendFileSync(payload.file, 'start ' + process.pid + ' ' + ctx.jobId + '\\n')
  await new Promise((resolve) => setTimeout(resolve, 250))
  appendFileSync(payload.file, 'end ' + process.pid + ' ' + ctx.jobId + '\\n')
  return { pid: process.pid }
})
`

const PRODUCER = `import { handler, Response } from '@edgeforge/sdk'
export default handler(async (req, ctx) => {
  const { file, count } = req.json<{ file: string; count: number }>()
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await ctx.jobs.enqueue('crash', { file })).id)
  return Response.ok({ ids })
})
`

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await response.json()) as { ok?: boolean; data?: unknown }
  assert.equal(response.status < 300, true, `${method} ${path} → ${response.status} ${JSON.stringify(json)}`)
  return json
}

async function deploy(controlUrl: string, body: Record<string, unknown>): Promise<void> {
  const created = (await call(controlUrl, 'POST', '/api/endpoints', body)) as { data: { id: string } }
  await call(controlUrl, 'POST', `/api/endpoints/${created.data.id}/deploy`)
}

function readJobs(dataDir: string): Array<{ id: string; status: string; attempts: number }> {
  const db = new DatabaseSync(join(dataDir, 'edgeforge.db'), { readOnly: true })
  try {
    return db
      .prepare("SELECT id, status, attempts FROM jobs WHERE queue = 'crash' ORDER BY id")
      .all() as Array<{
      id: string
      status: string
      attempts: number
    }>
  } finally {
    db.close()
  }
}

test('SIGKILL while jobs run: after a restart every job succeeds, and none whose success was stored runs again', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-crash-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const journal = join(dataDir, 'journal.txt')
  const flags = ['--job-lease-ms', '1000', '--job-concurrency', '4']

  const first = await spawnServe(dataDir, flags)
  t.after(() => first.child.kill('SIGKILL'))
  await deploy(first.controlUrl, { name: 'crash-worker', kind: 'job', queue: 'crash', code: WORKER })
  await deploy(first.controlUrl, { name: 'producer', path: '/produce', method: 'POST', code: PRODUCER })
  const produced = (await call(first.gatewayUrl, 'POST', '/produce', { file: journal, count: JOBS })) as {
    ids: string[]
  }
  assert.equal(produced.ids.length, JOBS)

  // Kill once some jobs have finished and others are mid-run.
  await waitFor(
    'a few jobs to finish while others run',
    () => {
      const lines = readJournal(journal)
      const ended = lines.filter((l) => l.kind === 'end').length
      const started = lines.filter((l) => l.kind === 'start').length
      return ended >= 4 && started > ended ? true : undefined
    },
    20_000,
  )
  first.child.kill('SIGKILL')
  const killed = await first.exited
  assert.equal(killed.signal, 'SIGKILL')

  const atKill = readJobs(dataDir)
  assert.equal(atKill.length, JOBS, 'every acknowledged enqueue survived the kill')
  const storedDone = new Set(atKill.filter((j) => j.status === 'succeeded').map((j) => j.id))
  const interrupted = atKill.filter((j) => j.status === 'running').map((j) => j.id)
  assert.ok(
    storedDone.size > 0 && storedDone.size < JOBS,
    `some but not all done at the kill (${storedDone.size})`,
  )
  assert.ok(interrupted.length > 0, 'some jobs were running when the process died')

  const second = await spawnServe(dataDir, flags)
  t.after(() => second.child.kill('SIGKILL'))
  const finalJobs = await waitFor(
    'every job to succeed after the restart (interrupted ones once their lease expired)',
    () => {
      const jobs = readJobs(dataDir)
      return jobs.every((j) => j.status === 'succeeded') ? jobs : undefined
    },
    30_000,
  )
  assert.equal(finalJobs.length, JOBS)

  const secondPid = String(second.child.pid)
  const rerun = readJournal(journal).filter((l) => l.pid === secondPid && l.kind === 'start')
  for (const line of rerun) {
    assert.ok(
      !storedDone.has(line.jobId),
      `job ${line.jobId} ran again although its success was stored before the kill`,
    )
  }
  for (const id of interrupted) {
    assert.ok(
      rerun.some((l) => l.jobId === id),
      `interrupted job ${id} was retried by the restarted server`,
    )
    const job = finalJobs.find((j) => j.id === id)
    assert.ok(job && job.attempts >= 2, `interrupted job ${id} counts its lost attempt`)
  }
  // Every job finished in the new process or was stored as done before the kill: nothing lost.
  const endedAfter = new Set(
    readJournal(journal)
      .filter((l) => l.pid === secondPid && l.kind === 'end')
      .map((l) => l.jobId),
  )
  for (const job of finalJobs)
    assert.ok(storedDone.has(job.id) || endedAfter.has(job.id), `job ${job.id} has a run to show`)

  second.child.kill('SIGTERM')
  assert.equal((await second.exited).code, 0)
})

function readJournal(file: string): Array<{ kind: string; pid: string; jobId: string }> {
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, pid, jobId] = line.split(' ')
      return { kind, pid, jobId }
    })
}
