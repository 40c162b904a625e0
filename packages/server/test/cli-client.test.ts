import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Edgeforge } from '@edgeforge/client'
import { cleanEnv } from './support/child.ts'
import { edgeforge } from './support/cli.ts'
import { startTestServer } from './support/server.ts'

// The CLI's commands on @edgeforge/client: clients, queues and jobs, credentials from the
// environment (the admin token, or a client id with its access token), --json everywhere.

const ROOT = 'root-token-for-cli-client-tests-0123456789'

test('CLI: clients ls|create|reset|rm, queues ls|pause|resume, jobs ls|show|cancel|retry', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const cwd = mkdtempSync(join(tmpdir(), 'edgeforge-cli-client-'))
  const admin = { ...cleanEnv(), EDGEFORGE_URL: srv.controlUrl, EDGEFORGE_ADMIN_TOKEN: ROOT }
  const json = async (args: string[], env: NodeJS.ProcessEnv = admin) => {
    const run = await edgeforge([...args, '--json'], cwd, env)
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
    return JSON.parse(run.stdout)
  }

  const created = await json([
    'clients',
    'create',
    'ci',
    '--scope',
    'jobs:read:*',
    '--scope',
    'queues:read:*',
  ])
  assert.deepEqual(created.scopes, ['jobs:read:*', 'queues:read:*'])
  const ids = (await json(['clients', 'ls'])).map((c: { client_id: string }) => c.client_id)
  assert.deepEqual(ids, ['ci'])

  const ci = { ...cleanEnv(), EDGEFORGE_URL: srv.controlUrl, EDGEFORGE_CLIENT_ID: 'ci' }
  const asCi = { ...ci, EDGEFORGE_ACCESS_TOKEN: created.access_token }
  const denied = await edgeforge(['clients', 'ls'], cwd, asCi)
  assert.equal(denied.code, 1)
  assert.match(denied.stderr, /error \(insufficient_scopes\)/)

  const ef = new Edgeforge({ url: srv.controlUrl, accessToken: ROOT })
  await json(['queues', 'pause', 'emails'])
  const { job } = (await ef.jobs.create({ queue: 'emails', payload: { to: 'a@example.com' } })).data as {
    job: { id: string }
  }
  const queues = await json(['queues', 'ls'], asCi)
  const emails = queues.find((q: { queue: string }) => q.queue === 'emails')
  assert.equal(emails.settings.paused, true)
  assert.equal(emails.counts.queued, 1)

  const listed = await json(['jobs', 'ls', '--queue', 'emails'], asCi)
  assert.deepEqual(
    listed.map((j: { id: string }) => j.id),
    [job.id],
  )
  assert.equal((await json(['jobs', 'show', job.id], asCi)).status, 'queued')
  assert.equal((await json(['jobs', 'cancel', job.id])).status, 'cancelled')
  assert.equal((await json(['jobs', 'retry', job.id])).status, 'queued')
  const missing = await edgeforge(['jobs', 'show', 'nope'], cwd, admin)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /error \(not_found\)/)

  await json(['queues', 'resume', 'emails'])
  assert.equal((await ef.queues.list()).data.find((q) => q.queue === 'emails')?.settings.paused, false)

  const reset = await json(['clients', 'reset', 'ci'])
  assert.notEqual(reset.access_token, created.access_token)
  const stale = await edgeforge(['jobs', 'ls'], cwd, asCi)
  assert.equal(stale.code, 1)
  assert.match(stale.stderr, /error \(unauthorized\)/)
  assert.equal((await json(['jobs', 'ls'], { ...ci, EDGEFORGE_ACCESS_TOKEN: reset.access_token })).length, 1)

  assert.deepEqual(await json(['clients', 'rm', 'ci']), { removed: 'ci' })
  assert.deepEqual(await json(['clients', 'ls']), [])
  // Usage errors under --json are an envelope too (exit 2).
  const usage = await edgeforge(['jobs', 'show', '--json'], cwd, admin)
  assert.equal(usage.code, 2)
  assert.equal(JSON.parse(usage.stderr).error.code, 'usage')
})
