// Per-endpoint environment variables and secrets (issue 10, item 5): the handler reads them as
// ctx.env, another endpoint cannot, process.env holds none of them, and no API answer, log line
// or /metrics ever carries a value.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import pino from 'pino'
import { cleanEnv } from './support/child.ts'
import { edgeforge } from './support/cli.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const SECRET_A = 'sk-first-7d1c09e2b4'
const SECRET_B = 'sk-second-51aa3f08c6'
const PLAIN = 'plain-value-90be'

interface EndpointView {
  id: string
  env_set: string[]
  status: string
}

async function ok<T>(srv: TestServer, method: string, path: string, body?: unknown): Promise<T> {
  const reply = await srv.api<T>(method, path, body)
  assert.ok(reply.status >= 200 && reply.status < 300, `${method} ${path}: ${JSON.stringify(reply.body)}`)
  return reply.body.data
}

/** What the handler of `name` reports of its ctx.env and process.env. */
const SNOOP = handlerSource(`export default handler((req, ctx) => {
  try {
    ;(ctx.env as Record<string, string>).INJECTED = 'x'
  } catch {}
  const frozen = !('INJECTED' in ctx.env)
  ctx.log.info('env names', Object.keys(ctx.env).join(','))
  return Response.ok({ env: { ...ctx.env }, processEnv: { ...process.env }, frozen })
})`)

interface Snooped {
  env: Record<string, string>
  processEnv: Record<string, string>
  frozen: boolean
}

async function snoop(srv: TestServer, path: string): Promise<Snooped> {
  // Fresh connections, so that with two threads both are asked.
  const response = await fetch(`${srv.gatewayUrl}${path}`, { headers: { connection: 'close' } })
  assert.equal(response.status, 200)
  return (await response.json()) as Snooped
}

test('an endpoint secret reaches its handler as ctx.env and nowhere else', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => lines.push(line) })
  const srv = await startTestServer(t, { 'gateway-threads': '2' }, { logger })

  const vault = await ok<EndpointView>(srv, 'POST', '/api/endpoints', {
    name: 'vault',
    method: 'GET',
    path: '/vault',
    code: SNOOP,
    env: { API_SECRET: SECRET_A, PLAIN_SETTING: PLAIN },
  })
  assert.deepEqual(vault.env_set, ['API_SECRET', 'PLAIN_SETTING'], 'the answer names the variables')
  const other = await ok<EndpointView>(srv, 'POST', '/api/endpoints', {
    name: 'other',
    method: 'GET',
    path: '/other',
    code: SNOOP,
    env: { OTHER_ONLY: 'o' },
  })
  await ok(srv, 'POST', `/api/endpoints/${vault.id}/deploy`)
  await ok(srv, 'POST', `/api/endpoints/${other.id}/deploy`)

  for (let i = 0; i < 6; i += 1) {
    const seen = await snoop(srv, '/vault')
    assert.deepEqual(seen.env, { API_SECRET: SECRET_A, PLAIN_SETTING: PLAIN })
    assert.deepEqual(seen.processEnv, {}, 'process.env holds neither the endpoint env nor the server env')
    assert.equal(seen.frozen, true, 'ctx.env cannot be changed by the handler')
    const neighbour = await snoop(srv, '/other')
    assert.deepEqual(neighbour.env, { OTHER_ONLY: 'o' }, 'another endpoint sees only its own')
    assert.deepEqual(neighbour.processEnv, {})
  }

  // A change is stored at once and served from the next start, which swaps in a fresh instance.
  const updated = await ok<EndpointView>(srv, 'PUT', `/api/endpoints/${vault.id}`, {
    env: { API_SECRET: SECRET_B, PLAIN_SETTING: null },
  })
  assert.deepEqual(updated.env_set, ['API_SECRET'])
  assert.equal((await snoop(srv, '/vault')).env.API_SECRET, SECRET_A, 'not served before a swap')
  const report = await ok<{ swapped: boolean }>(srv, 'POST', `/api/endpoints/${vault.id}/start`)
  assert.equal(report.swapped, true, 'a start with a changed environment swaps')
  for (let i = 0; i < 4; i += 1) assert.deepEqual((await snoop(srv, '/vault')).env, { API_SECRET: SECRET_B })
  // Unchanged environment and version: nothing to swap.
  assert.equal(
    (await ok<{ swapped: boolean }>(srv, 'POST', `/api/endpoints/${vault.id}/start`)).swapped,
    false,
  )

  // Names the schema or the catalog refuse: the message names the variable, never the value.
  for (const [name, value] of [
    ['EDGEFORGE_ADMIN_TOKEN', 'refused-value-1'],
    ['1STARTS_WITH_DIGIT', 'refused-value-2'],
    ['HAS-DASH', 'refused-value-3'],
  ]) {
    const refused = await srv.api('PUT', `/api/endpoints/${vault.id}`, { env: { [name]: value } })
    assert.equal(refused.status, 400, name)
    const body = JSON.stringify(refused.body)
    assert.match(body, /validation_failed/)
    assert.ok(body.includes(name), `the error names ${name}: ${body}`)
    assert.ok(!body.includes(value), `the error does not echo the value: ${body}`)
  }

  // Nothing the control plane answers, and nothing logged, carries a value.
  const answers = [
    await srv.api('GET', '/api/endpoints'),
    await srv.api('GET', '/api/endpoints?include_code=true'),
    await srv.api('GET', `/api/endpoints/${vault.id}`),
    await srv.api('GET', `/api/endpoints/${vault.id}/logs`),
    await srv.api('GET', '/api/stats'),
  ].map((reply) => JSON.stringify(reply.body))
  answers.push(await (await fetch(`${srv.controlUrl}/metrics`)).text())
  const logged = lines.join('\n')
  assert.ok(logged.length > 0, 'the server logged something to search')
  for (const secret of [SECRET_A, SECRET_B, PLAIN]) {
    for (const answer of answers) assert.ok(!answer.includes(secret), `an answer carries ${secret}`)
    assert.ok(!logged.includes(secret), `the server log carries ${secret}`)
  }
  const endpointLog = answers[3]
  assert.ok(endpointLog.includes('API_SECRET'), 'the handler logged the names it saw')

  // After a restart the stored environment is served again.
  await srv.stop()
  const again = await startTestServer(t, { 'gateway-threads': '2' }, { dataDir: srv.dataDir })
  assert.deepEqual((await snoop(again, '/vault')).env, { API_SECRET: SECRET_B })
})

test('the CLI sets env from its flags and from its own shell, and endpoints update swaps it in', async (t) => {
  const srv = await startTestServer(t)
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-env-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'vault.ts'), SNOOP)
  const shell = { ...cleanEnv(), FROM_SHELL: SECRET_A }
  const cli = (...args: string[]) => edgeforge([...args, '--url', srv.controlUrl], dir, shell)

  const deployed = await cli(
    'deploy',
    'vault.ts',
    '--path',
    '/vault',
    '--method',
    'GET',
    '--env',
    'FROM_SHELL',
    '--env',
    `GIVEN=${PLAIN}`,
  )
  assert.equal(deployed.code, 0, deployed.stderr)
  assert.deepEqual((await snoop(srv, '/vault')).env, { FROM_SHELL: SECRET_A, GIVEN: PLAIN })

  const updated = await cli(
    'endpoints',
    'update',
    'vault',
    '--env',
    `FROM_SHELL=${SECRET_B}`,
    '--unset-env',
    'GIVEN',
  )
  assert.equal(updated.code, 0, updated.stderr)
  assert.match(updated.stdout, /^updated vault: env FROM_SHELL; swapped in v1/)
  assert.deepEqual((await snoop(srv, '/vault')).env, { FROM_SHELL: SECRET_B })
  for (const run of [deployed, updated])
    for (const secret of [SECRET_A, SECRET_B, PLAIN]) assert.ok(!run.stdout.includes(secret), run.stdout)

  const missing = await cli('endpoints', 'update', 'vault', '--env', 'NOT_IN_SHELL')
  assert.equal(missing.code, 2, missing.stdout)
  assert.match(missing.stderr, /NOT_IN_SHELL is not set in this shell's environment/)
})

test('a job endpoint reads its env as ctx.env in its job thread; process.env stays empty', async (t) => {
  const srv = await startTestServer(t)
  await ok(srv, 'POST', '/api/endpoints', {
    name: 'env-job',
    kind: 'job',
    queue: 'env-jobs',
    env: { JOB_SECRET: SECRET_A },
    code: `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => ({ env: { ...ctx.env }, processEnv: { ...process.env } }))
`,
  }).then((endpoint) => ok(srv, 'POST', `/api/endpoints/${(endpoint as EndpointView).id}/deploy`))
  const engine = srv.server.jobs.engine
  const { job } = await engine.enqueue({ queue: 'env-jobs', maxAttempts: 1 })
  const done = await waitFor('the job to finish', async () => {
    const current = await engine.getJob(job.id)
    return current.status === 'succeeded' || current.status === 'failed' ? current : undefined
  })
  assert.equal(done.status, 'succeeded', JSON.stringify(done))
  assert.deepEqual(done.result, { env: { JOB_SECRET: SECRET_A }, processEnv: {} })
})
