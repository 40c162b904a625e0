import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { edgeforge } from './support/cli.ts'
import { startTestServer } from './support/server.ts'

const COUNTER = `
import { handler, Response } from '@edgeforge/sdk'

export default handler(async (_req, ctx) => {
  const hits = await ctx.cache('cache').incr('hits')
  const row = await ctx.database('db').queryOne<{ n: number }>('SELECT ? + 1 AS n', [hits])
  return Response.ok({ hits, next: row?.n })
})
`

test('the CLI creates services, tests them, and deploy --service binds them', async (t) => {
  const srv = await startTestServer(t)
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-svc-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const cli = (...args: string[]) => edgeforge([...args, '--url', srv.controlUrl], dir)

  let run = await cli('services', 'create', 'main-db', '--type', 'sqlite', '--config', 'path=main.db')
  assert.equal(run.code, 0, run.stderr)
  assert.equal(run.stdout, 'created main-db (sqlite), active\n')
  run = await cli('services', 'create', 'sessions', '--type', 'memory', '--config', 'max_keys=1000')
  assert.equal(run.code, 0, run.stderr)
  run = await cli(
    'services',
    'create',
    'pg',
    '--type',
    'postgres',
    '--config',
    'host=127.0.0.1',
    '--config',
    'port=1',
    '--config',
    'database=shop',
    '--secret',
    'password=cli-secret-42',
  )
  assert.equal(run.code, 0, run.stderr)

  run = await cli('services', 'test', 'main-db')
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout, /^ok: main-db answered in \d+ ms\n$/)
  run = await cli('services', 'test', 'pg')
  assert.equal(run.code, 1)
  assert.match(run.stdout, /^failed: .*ECONNREFUSED/)

  run = await cli('services', 'ls')
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout, /pg\s+postgres\s+yes\s+no\s+password/)
  assert.ok(!run.stdout.includes('cli-secret-42'))

  run = await cli('services', 'create', 'bad', '--type', 'postgres', '--config', 'port=x')
  assert.equal(run.code, 1)
  assert.match(run.stderr, /validation_failed/)

  writeFileSync(join(dir, 'counter.ts'), COUNTER)
  run = await cli(
    'deploy',
    'counter.ts',
    '--path',
    '/count',
    '--method',
    'GET',
    '--service',
    'db=main-db',
    '--service',
    'cache=sessions',
  )
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(await (await fetch(`${srv.gatewayUrl}/count`)).json(), { hits: 1, next: 2 })
  assert.deepEqual(await (await fetch(`${srv.gatewayUrl}/count`)).json(), { hits: 2, next: 3 })

  run = await cli('services', 'rm', 'main-db')
  assert.equal(run.code, 1)
  assert.match(run.stderr, /conflict.*counter/)
  run = await cli('services', 'deactivate', 'sessions')
  assert.equal(run.code, 0, run.stderr)
  assert.equal((await fetch(`${srv.gatewayUrl}/count`)).status, 503)
})
