import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, type TestContext, test } from 'node:test'
import { ListObjectsCommand } from '@aws-sdk/client-s3'
import { Edgeforge, jobArtifacts } from '@edgeforge/client'
import { createTemporaryCredentials } from '../src/auth/index.ts'
import { cleanEnv } from './support/child.ts'
import { edgeforge } from './support/cli.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { startS3 } from './support/s3.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

/*
 * Job artifacts end to end, on the filesystem blob store and on S3 (s3rver): streamed upload with
 * its hash, list, download with etag / Range / If-None-Match, names and sizes refused with
 * nothing left behind, an aborted upload leaving nothing, job-scoped credentials, counters
 * flushed and surviving a restart, expiry with the job, and ctx.artifacts of an in-process job.
 */

const TOKEN = 'artifact-admin-token-0123456789'
const AUTH = { authorization: `Bearer ${TOKEN}` }

interface Backend {
  name: string
  /** Undefined: the backend is not reachable here and the test was skipped. */
  flags(
    t: TestContext,
  ): Promise<{ flags: Record<string, string>; blobs: () => Promise<string[]> } | undefined>
}

const backends: Backend[] = [
  {
    name: 'filesystem',
    async flags() {
      return { flags: {}, blobs: async () => [] }
    },
  },
  {
    name: 'filesystem, rows on PostgreSQL',
    async flags(t) {
      const url = await freshPostgresUrl(t)
      return url === undefined ? undefined : { flags: { 'database-url': url }, blobs: async () => [] }
    },
  },
  {
    name: 's3',
    async flags(t) {
      const s3 = await startS3(t, 'artifacts')
      return {
        flags: {
          'artifact-s3-bucket': s3.bucket,
          'artifact-s3-endpoint': s3.endpoint,
          'artifact-s3-access-key': s3.config.access_key,
          'artifact-s3-secret-key': s3.secrets.secret_key,
        },
        blobs: async () =>
          ((await s3.client.send(new ListObjectsCommand({ Bucket: s3.bucket }))).Contents ?? []).map(
            (o) => o.Key ?? '',
          ),
      }
    },
  },
]

async function enqueue(srv: TestServer, queue = 'builds'): Promise<string> {
  const reply = await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue, payload: {} }, AUTH)
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body.data.job.id
}

function put(srv: TestServer, path: string, body: RequestInit['body'], headers: Record<string, string> = {}) {
  return fetch(srv.controlUrl + path, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/gzip', ...headers },
    body,
    duplex: 'half',
  } as RequestInit)
}

/** Files of the filesystem blob store: blobs, and temp files of uploads in progress. */
function fsBlobs(srv: TestServer): { blobs: string[]; temp: string[] } {
  const root = join(srv.dataDir, 'artifacts')
  const list = (dir: string) => (existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : [])
  return { blobs: list('blobs'), temp: list('tmp') }
}

/** A body of `size` pseudo-random bytes made as it is read, and its SHA-256. */
function generated(size: number, chunk = 64 * 1024): { stream: () => Readable; sha256: string } {
  const block = Buffer.alloc(chunk)
  for (let i = 0; i < chunk; i++) block[i] = (i * 31 + 7) & 0xff
  const hash = createHash('sha256')
  for (let left = size; left > 0; left -= chunk) hash.update(block.subarray(0, Math.min(chunk, left)))
  return {
    sha256: hash.digest('hex'),
    stream: () => {
      let left = size
      return new Readable({
        read() {
          if (left <= 0) return void this.push(null)
          const n = Math.min(chunk, left)
          left -= n
          this.push(block.subarray(0, n))
        },
      })
    },
  }
}

/** A raw request, so a path reaches the server exactly as written (fetch would resolve `..`). */
function raw(
  srv: TestServer,
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  const url = new URL(srv.controlUrl)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...AUTH, 'content-type': 'text/plain' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString()
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

for (const backend of backends) {
  describe(`job artifacts on ${backend.name}`, () => {
    test('a streamed upload is hashed and listed; download with etag, ranges, 304 and 416', async (t) => {
      const backing = await backend.flags(t)
      if (!backing) return
      const { flags } = backing
      const srv = await startTestServer(t, { 'admin-token': TOKEN, 'job-concurrency': '0', ...flags })
      const jobId = await enqueue(srv)
      // 20 MiB: more than one S3 part.
      const body = generated(20 * 1024 * 1024 + 123)
      const uploaded = await put(
        srv,
        `/jobs/${jobId}/artifacts/app.tgz`,
        Readable.toWeb(body.stream()) as ReadableStream,
      )
      assert.equal(uploaded.status, 201, await uploaded.clone().text())
      const stored = ((await uploaded.json()) as { data: Record<string, unknown> }).data
      assert.equal(stored.sha256, body.sha256)
      assert.equal(stored.size, 20 * 1024 * 1024 + 123)
      assert.equal(stored.content_type, 'application/gzip')

      const list = await srv.api<Array<Record<string, unknown>>>(
        'GET',
        `/jobs/${jobId}/artifacts`,
        undefined,
        AUTH,
      )
      assert.equal(list.status, 200)
      assert.deepEqual(
        list.body.data.map((a) => [a.name, a.size, a.sha256, a.downloads]),
        [['app.tgz', 20 * 1024 * 1024 + 123, body.sha256, 0]],
      )

      const url = `${srv.controlUrl}/jobs/${jobId}/artifacts/app.tgz`
      const whole = await fetch(url, { headers: AUTH })
      assert.equal(whole.status, 200)
      assert.equal(whole.headers.get('etag'), `"${body.sha256}"`)
      assert.equal(whole.headers.get('content-length'), String(20 * 1024 * 1024 + 123))
      assert.equal(whole.headers.get('content-type'), 'application/gzip')
      assert.equal(whole.headers.get('accept-ranges'), 'bytes')
      assert.equal(
        createHash('sha256')
          .update(Buffer.from(await whole.arrayBuffer()))
          .digest('hex'),
        body.sha256,
      )

      const expected = Buffer.concat(await body.stream().toArray())
      const ranged = await fetch(url, { headers: { ...AUTH, range: 'bytes=100-199' } })
      assert.equal(ranged.status, 206)
      assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${expected.length}`)
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), expected.subarray(100, 200))
      const suffix = await fetch(url, { headers: { ...AUTH, range: 'bytes=-10' } })
      assert.equal(suffix.status, 206)
      assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), expected.subarray(expected.length - 10))

      const past = await fetch(url, { headers: { ...AUTH, range: `bytes=${expected.length}-` } })
      assert.equal(past.status, 416)
      assert.equal(past.headers.get('content-range'), `bytes */${expected.length}`)
      assert.equal(((await past.json()) as { error: { code: string } }).error.code, 'range_not_satisfiable')

      const cached = await fetch(url, { headers: { ...AUTH, 'if-none-match': `"${body.sha256}"` } })
      assert.equal(cached.status, 304)

      // A signed URL: curl -o app.tgz URL, without a header.
      const signed = await new Edgeforge({
        url: srv.controlUrl,
        accessToken: TOKEN,
        clientId: 'root',
      }).signUrl(url, { expiresIn: 60_000 })
      const bySignature = await fetch(signed)
      assert.equal(bySignature.status, 200)
      assert.equal(Buffer.from(await bySignature.arrayBuffer()).length, expected.length)
      assert.equal((await fetch(url)).status, 401)
    })

    test('bad names and oversized bodies are refused, and an aborted upload leaves nothing', async (t) => {
      const backing = await backend.flags(t)
      if (!backing) return
      const { flags, blobs } = backing
      const srv = await startTestServer(t, {
        'admin-token': TOKEN,
        'job-concurrency': '0',
        'artifact-max-bytes': String(1024 * 1024),
        ...flags,
      })
      const jobId = await enqueue(srv)
      for (const name of ['%2E%2E', '.', 'a%2Fb', '..%5Cx', 'bad%00name', '%09tab']) {
        const reply = await raw(srv, 'PUT', `/jobs/${jobId}/artifacts/${name}`, Buffer.from('x'))
        assert.equal(reply.status, 400, `${name}: ${reply.body}`)
        assert.equal(JSON.parse(reply.body).error.code, 'validation_failed', name)
      }
      // Longer than any path parameter the router reads: its 414, before the route.
      const long = await raw(srv, 'PUT', `/jobs/${jobId}/artifacts/${'x'.repeat(101)}`, Buffer.from('x'))
      assert.equal(long.status, 414)
      assert.equal(JSON.parse(long.body).error.code, 'uri_too_long')
      // `..` as a path segment never names an artifact: it is another route (or none).
      assert.notEqual((await raw(srv, 'PUT', `/jobs/${jobId}/artifacts/../x`, Buffer.from('x'))).status, 201)

      // Declared too large: refused before reading.
      const declared = await put(srv, `/jobs/${jobId}/artifacts/big.bin`, Buffer.alloc(1024 * 1024 + 1))
      assert.equal(declared.status, 413)
      assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'payload_too_large')
      // Streamed without a length, cut off at the limit.
      const streamed = await put(
        srv,
        `/jobs/${jobId}/artifacts/big.bin`,
        Readable.toWeb(generated(3 * 1024 * 1024).stream()) as ReadableStream,
      ).catch((error: unknown) => error)
      if (streamed instanceof Response) assert.equal(streamed.status, 413)

      // A client that goes away mid-upload.
      const controller = new AbortController()
      let sent = 0
      const slow = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent >= 512 * 1024) {
            controller.abort()
            return
          }
          sent += 64 * 1024
          c.enqueue(new Uint8Array(64 * 1024))
          await new Promise((resolve) => setTimeout(resolve, 5))
        },
      })
      await assert.rejects(
        fetch(`${srv.controlUrl}/jobs/${jobId}/artifacts/aborted.bin`, {
          method: 'PUT',
          headers: AUTH,
          body: slow,
          signal: controller.signal,
          duplex: 'half',
        } as RequestInit),
      )
      // Nothing of any of them: no row, no blob, no temp file (on S3, no object).
      await waitFor('the aborted upload to be cleaned up', async () => {
        const files = fsBlobs(srv)
        return files.blobs.length === 0 && files.temp.length === 0 && (await blobs()).length === 0
      })
      const list = await srv.api<unknown[]>('GET', `/jobs/${jobId}/artifacts`, undefined, AUTH)
      assert.deepEqual(list.body.data, [])
      assert.equal((await raw(srv, 'PUT', `/jobs/nope/artifacts/x`, Buffer.from('x'))).status, 404)
    })

    test('a job-scoped credential writes its own job only; counters flush and survive a restart; artifacts expire with the job', async (t) => {
      const backing = await backend.flags(t)
      if (!backing) return
      const { flags, blobs } = backing
      const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-artifacts-'))
      t.after(() => rmSync(dataDir, { recursive: true, force: true }))
      const settings = {
        'admin-token': TOKEN,
        'job-concurrency': '0',
        'artifact-counter-flush-ms': '60000',
        'artifact-sweep-ms': '50',
        ...flags,
      }
      let srv = await startTestServer(t, settings, { dataDir })
      const [mine, other] = [await enqueue(srv), await enqueue(srv)]
      const credential = createTemporaryCredentials({
        clientId: 'root',
        accessToken: TOKEN,
        scopes: [`artifacts:upload:${mine}`, `artifacts:read:${mine}`],
        expiry: Date.now() + 60_000,
      })
      const artifacts = jobArtifacts({ url: srv.controlUrl, jobId: mine, credential: () => credential })
      const info = await artifacts.put('report.txt', 'hello artifacts', { contentType: 'text/plain' })
      assert.equal(info.sha256, createHash('sha256').update('hello artifacts').digest('hex'))
      const theirs = jobArtifacts({ url: srv.controlUrl, jobId: other, credential: () => credential })
      await assert.rejects(theirs.put('report.txt', 'x'), /insufficient_scopes|scope/)
      // Replacing keeps one row; the old blob goes with the next sweep.
      await artifacts.put('report.txt', 'hello again', { contentType: 'text/plain' })

      for (let i = 0; i < 3; i++) {
        const got = await fetch(`${srv.controlUrl}/jobs/${mine}/artifacts/report.txt`, {
          headers: { authorization: `Bearer ${credential}` },
        })
        assert.equal(await got.text(), 'hello again')
      }
      const listed = await srv.api<Array<{ downloads: number }>>(
        'GET',
        `/jobs/${mine}/artifacts`,
        undefined,
        AUTH,
      )
      assert.equal(listed.body.data[0].downloads, 3, 'the list adds the counts not flushed yet')
      // The flush interval is a minute: only shutdown writes these.
      await srv.stop()
      srv = await startTestServer(t, settings, { dataDir })
      const after = await srv.api<Array<{ downloads: number }>>(
        'GET',
        `/jobs/${mine}/artifacts`,
        undefined,
        AUTH,
      )
      assert.equal(after.body.data[0].downloads, 3)

      // Deleting the job (as retention does) removes its artifacts and their bytes.
      assert.equal((await srv.api('POST', `/jobs/${mine}/cancel`, undefined, AUTH)).status, 200)
      const deleted = await srv.api('DELETE', `/jobs/${mine}`, undefined, AUTH)
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body))
      await waitFor(
        'the artifact blobs to be swept',
        async () => fsBlobs(srv).blobs.length === 0 && (await blobs()).length === 0,
      )
      assert.equal((await srv.api('GET', `/jobs/${mine}/artifacts`, undefined, AUTH)).status, 404)
    })
  })
}

test('ctx.artifacts.put of an in-process job streams a Node Readable to the job', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': TOKEN })
  const code = `import { Readable } from 'node:stream'
import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  const chunks = ['a'.repeat(1000), 'b'.repeat(1000)]
  const info = await ctx.artifacts.put('out.txt', Readable.from(chunks.map((c) => Buffer.from(c))), { contentType: 'text/plain' })
  return { sha256: info.sha256, size: info.size }
})
`
  const created = await srv.api<{ id: string }>(
    'POST',
    '/api/endpoints',
    { name: 'maker', kind: 'job', queue: 'make', code },
    AUTH,
  )
  assert.equal(created.status, 201, JSON.stringify(created.body))
  assert.ok(
    (await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`, undefined, AUTH)).status < 300,
  )
  const jobId = await enqueue(srv, 'make')
  const done = await waitFor(
    'the job to succeed',
    async () => {
      const job = await srv.api<{
        status: string
        result: { sha256: string; size: number }
        last_error: string
      }>('GET', `/jobs/${jobId}`, undefined, AUTH)
      return ['succeeded', 'failed', 'dead'].includes(job.body.data.status) && job.body.data
    },
    20_000,
  )
  assert.equal(done.status, 'succeeded', done.last_error)
  const expected = createHash('sha256')
    .update('a'.repeat(1000) + 'b'.repeat(1000))
    .digest('hex')
  assert.deepEqual(done.result, { sha256: expected, size: 2000 })
  const got = await fetch(`${srv.controlUrl}/jobs/${jobId}/artifacts/out.txt`, { headers: AUTH })
  assert.equal(got.headers.get('etag'), `"${expected}"`)
})

test("the CLI lists a job's artifacts and downloads one to a file, hash checked", async (t) => {
  const srv = await startTestServer(t, { 'admin-token': TOKEN, 'job-concurrency': '0' })
  const jobId = await enqueue(srv)
  const uploaded = await put(srv, `/jobs/${jobId}/artifacts/notes.txt`, 'cli bytes', {
    'content-type': 'text/plain',
  })
  assert.equal(uploaded.status, 201)
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-artifacts-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const env = { ...cleanEnv(), EDGEFORGE_URL: srv.controlUrl, EDGEFORGE_ADMIN_TOKEN: TOKEN }
  const listed = await edgeforge(['jobs', 'artifacts', jobId, '--json'], dir, env)
  assert.equal(listed.code, 0, listed.stderr)
  const list = JSON.parse(listed.stdout) as Array<{ name: string; size: number; sha256: string }>
  const sha256 = createHash('sha256').update('cli bytes').digest('hex')
  assert.deepEqual(
    list.map((a) => [a.name, a.size, a.sha256]),
    [['notes.txt', 9, sha256]],
  )
  const table = await edgeforge(['jobs', 'artifacts', jobId], dir, env)
  assert.match(table.stdout, /notes\.txt\s+9\s+/)
  const got = await edgeforge(['artifacts', 'get', jobId, 'notes.txt', '-o', join(dir, 'out.txt')], dir, env)
  assert.equal(got.code, 0, got.stderr)
  assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'cli bytes')
  const missing = await edgeforge(['artifacts', 'get', jobId, 'nope.txt'], dir, env)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /no artifact named nope\.txt/)
})
