import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { type TestContext, test } from 'node:test'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import pg from 'pg'
import SftpClient from 'ssh2-sftp-client'
import { createEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { startS3 } from './support/s3.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { FILE_SERVER_USER, needServer } from './support/services.ts'

/**
 * examples/pet-store/pets.ts, unchanged, on SQLite, PostgreSQL, S3 (s3rver) and SFTP (OpenSSH):
 * the five endpoints are deployed once; for each backend only the binding of "store" changes
 * (and a deploy swaps it in). The answers must be the same on every backend, and each backend is
 * checked with a client of the test's own.
 */

const PETS = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'examples', 'pet-store', 'pets.ts'),
  'utf8',
)
const ROUTES = [
  ['GET', '/pets'],
  ['POST', '/pets'],
  ['GET', '/pets/{id}'],
  ['PUT', '/pets/{id}'],
  ['DELETE', '/pets/{id}'],
] as const

interface Backend {
  type: string
  config: Record<string, unknown>
  secrets?: Record<string, unknown>
  /** The ids and statuses the backend holds, read without edgeforge. */
  independent(): Promise<string[]>
}

async function scenario(srv: TestServer): Promise<unknown[]> {
  const seen: unknown[] = []
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(srv.gatewayUrl + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    const answer = text ? JSON.parse(text) : null
    // Error bodies carry the request's id, which differs on every run.
    if (answer && typeof answer === 'object') delete answer.request_id
    seen.push([method, path, res.status, answer])
  }
  await call('POST', '/pets', { id: 'rex', name: 'Rex', species: 'dog' })
  await call('POST', '/pets', { id: 'tom', name: 'Tom', species: 'cat', status: 'sold' })
  await call('POST', '/pets', { id: 'rex', name: 'Again' })
  await call('POST', '/pets', { id: 'nameless' })
  await call('GET', '/pets/rex')
  await call('GET', '/pets')
  await call('GET', '/pets?status=available')
  await call('PUT', '/pets/rex', { name: 'Rex', species: 'dog', status: 'sold' })
  await call('PUT', '/pets/ghost', { name: 'Ghost' })
  await call('GET', '/pets?status=sold')
  await call('DELETE', '/pets/tom')
  await call('DELETE', '/pets/tom')
  await call('GET', '/pets/tom')
  await call('GET', '/pets')
  return seen
}

async function backends(t: TestContext): Promise<Backend[]> {
  const list: Backend[] = []
  list.push({
    type: 'sqlite',
    config: { path: 'pets.db' },
    async independent() {
      return []
    },
  })
  const url = await freshPostgresUrl(t)
  if (url) {
    const database = new URL(url).pathname.slice(1)
    list.push({
      type: 'postgres',
      config: { host: '127.0.0.1', port: 5432, database, username: 'postgres' },
      async independent() {
        const client = new pg.Client({ connectionString: url })
        client.on('error', () => {})
        await client.connect()
        try {
          return (await client.query('SELECT id, status FROM pets ORDER BY id')).rows.map(
            (r) => `${r.id}:${r.status}`,
          )
        } finally {
          await client.end()
        }
      },
    })
  }
  const s3 = await startS3(t)
  list.push({
    type: 's3',
    config: s3.config,
    secrets: s3.secrets,
    async independent() {
      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'pets/' }))
      return (listed.Contents ?? []).map((o) => String(o.Key))
    },
  })
  if (await needServer(t, 'sftp')) {
    const folder = `/home/${FILE_SERVER_USER.username}/pets-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    t.after(() => rmSync(folder, { recursive: true, force: true }))
    list.push({
      type: 'ftp',
      config: {
        protocol: 'sftp',
        host: '127.0.0.1',
        port: 2222,
        username: FILE_SERVER_USER.username,
        base_path: folder,
      },
      secrets: { password: FILE_SERVER_USER.password },
      async independent() {
        const own = new SftpClient()
        await own.connect({ host: '127.0.0.1', port: 2222, ...FILE_SERVER_USER })
        try {
          const names = (await own.list(`${folder}/pets`)).map((e) => e.name).sort()
          const held: string[] = []
          for (const n of names)
            held.push(`${n}:${JSON.parse(String(await own.get(`${folder}/pets/${n}`))).status}`)
          return held
        } finally {
          await own.end()
        }
      },
    })
  }
  return list
}

test('the Pet Store answers the same on SQLite, PostgreSQL, S3 and SFTP, changing only the binding', async (t) => {
  const srv = await startTestServer(t)
  const found = await backends(t)
  const endpoints = []
  for (const [method, path] of ROUTES)
    endpoints.push(
      await createEndpoint(srv, {
        name: `pets-${method.toLowerCase()}${path.includes('{') ? '-one' : ''}`,
        method,
        path,
        code: PETS,
      }),
    )

  const transcripts: Record<string, unknown[]> = {}
  for (const backend of found) {
    const name = `store-${backend.type}`
    expectStatus(
      await srv.api('POST', '/api/services', {
        name,
        service_type: backend.type,
        config: backend.config,
        secrets: backend.secrets ?? {},
      }),
      201,
    )
    for (const endpoint of endpoints) {
      expectStatus(
        await srv.api('POST', `/api/endpoints/${endpoint.id}/services`, { binding: 'store', service: name }),
        200,
      )
      expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200)
    }
    transcripts[backend.type] = await scenario(srv)
    const held = await backend.independent()
    if (backend.type === 'sqlite') {
      const db = new DatabaseSync(join(srv.dataDir, 'services', 'sqlite', 'pets.db'))
      const rows = db.prepare('SELECT id, status FROM pets ORDER BY id').all()
      db.close()
      assert.deepEqual(
        rows.map((r) => `${r.id}:${r.status}`),
        ['rex:sold'],
      )
    } else if (backend.type === 'postgres') assert.deepEqual(held, ['rex:sold'])
    else if (backend.type === 's3') assert.deepEqual(held, ['pets/rex.json'])
    else assert.deepEqual(held, ['rex.json:sold'])
  }
  if (process.env.CI) assert.deepEqual(Object.keys(transcripts), ['sqlite', 'postgres', 's3', 'ftp'])

  const reference = transcripts.sqlite
  const statuses = reference.map((entry) => (entry as unknown[])[2])
  assert.deepEqual(statuses, [201, 201, 409, 400, 200, 200, 200, 200, 404, 200, 204, 404, 404, 200])
  const last = reference.at(-1) as unknown[]
  assert.deepEqual(last[3], { pets: [{ name: 'Rex', species: 'dog', status: 'sold', id: 'rex' }] })
  for (const [type, transcript] of Object.entries(transcripts))
    assert.deepEqual(transcript, reference, `${type} answers like sqlite`)
})
