import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { isHandlerError } from '@edgeforge/sdk'
import { startS3 } from '../../../test/support/s3.ts'
import { testRuntime } from '../../../test/support/services.ts'
import { BoundServices } from '../clients.ts'

/** The storage kinds; what they wrote is checked on disk (filesystem) or with the AWS SDK (s3). */

interface Backend {
  type: string
  config: Record<string, unknown>
  secrets: Record<string, unknown>
  /** Keys and bodies as the backend holds them, read without the service. */
  independent(): Promise<Map<string, string>>
}

const BACKENDS: Record<string, (t: TestContext, dataDir: string) => Promise<Backend>> = {
  filesystem: async (_t, dataDir) => ({
    type: 'filesystem',
    config: { root: 'uploads' },
    secrets: {},
    async independent() {
      const dir = join(dataDir, 'services', 'storage', 'uploads', 'objects')
      const seen = new Map<string, string>()
      for (const name of await readdir(dir))
        seen.set(decodeURIComponent(name), await readFile(join(dir, name), 'utf8'))
      return seen
    },
  }),
  s3: async (t) => {
    const s3 = await startS3(t)
    return {
      type: 's3',
      config: s3.config,
      secrets: s3.secrets,
      async independent() {
        const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
        const seen = new Map<string, string>()
        for (const object of listed.Contents ?? []) {
          const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: object.Key }))
          seen.set(object.Key ?? '', (await got.Body?.transformToString()) ?? '')
        }
        return seen
      },
    }
  },
}

for (const [type, make] of Object.entries(BACKENDS)) {
  test(`${type}: put (bytes, string, stream), get, head, list with paging, delete, presignedUrl`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await make(t, dataDir)
    runtime.activate({ id: type, name: 'uploads', type, config: backend.config, secrets: backend.secrets })
    const storage = new BoundServices(runtime, { files: 'uploads' }).storage('files')

    await storage.put('docs/a.txt', 'alpha', { contentType: 'text/plain' })
    await storage.put('docs/b.bin', new Uint8Array([98, 101, 116, 97]))
    async function* chunks() {
      yield Buffer.from('gam')
      yield Buffer.from('ma')
    }
    await storage.put('docs/sub/c.txt', chunks(), { contentType: 'text/plain' })
    await storage.put('other.txt', 'zeta')

    assert.deepEqual([...(await backend.independent()).entries()].sort(), [
      ['docs/a.txt', 'alpha'],
      ['docs/b.bin', 'beta'],
      ['docs/sub/c.txt', 'gamma'],
      ['other.txt', 'zeta'],
    ])
    const a = await storage.get('docs/a.txt')
    assert.equal(Buffer.from(a?.body ?? []).toString(), 'alpha')
    assert.equal(a?.contentType, 'text/plain')
    assert.equal(a?.size, 5)
    assert.deepEqual(await storage.head('docs/b.bin'), { contentType: 'application/octet-stream', size: 4 })
    assert.equal(await storage.get('docs/missing'), null)
    assert.equal(await storage.head('docs/missing'), null)

    const first = await storage.list('docs/', { limit: 2 })
    assert.deepEqual(
      first.objects.map((o) => [o.key, o.size]),
      [
        ['docs/a.txt', 5],
        ['docs/b.bin', 4],
      ],
    )
    assert.ok(first.continuationToken)
    assert.ok(first.objects[0].lastModified)
    const second = await storage.list('docs/', {
      limit: 2,
      continuationToken: first.continuationToken ?? undefined,
    })
    assert.deepEqual(
      second.objects.map((o) => o.key),
      ['docs/sub/c.txt'],
    )
    assert.equal(second.continuationToken, null)
    assert.equal((await storage.list()).objects.length, 4)

    assert.equal(await storage.delete('docs/a.txt'), true)
    assert.equal(await storage.get('docs/a.txt'), null)
    assert.ok(!(await backend.independent()).has('docs/a.txt'))

    const url = await storage.presignedUrl('docs/b.bin', 60)
    if (type === 's3') {
      // Anyone holding the URL reads the object, without credentials.
      const res = await fetch(url)
      assert.equal(res.status, 200)
      assert.equal(await res.text(), 'beta')
    } else assert.match(url, /uploads\/docs\/b\.bin/)

    await assert.rejects(storage.put('../escape', 'x'), /segment/)
    await assert.rejects(storage.put('/abs', 'x'), /must not start/)
  })
}

test('s3: wrong credentials and a missing bucket are 503s whose reason is the last error', async (t) => {
  const s3 = await startS3(t)
  const { runtime } = testRuntime(t)
  // s3rver checks the access key id but not the signature, so the wrong credential is the key id.
  runtime.activate({
    id: '1',
    name: 'wrong',
    type: 's3',
    config: { ...s3.config, access_key: 'NOT-THE-KEY' },
    secrets: { secret_key: 'not-it-99' },
  })
  const wrong = new BoundServices(runtime, { s: 'wrong' }).storage('s')
  await assert.rejects(
    wrong.get('k'),
    (e: unknown) => isHandlerError(e) && e.status === 503 && !e.message.includes('not-it-99'),
  )
  assert.match(runtime.status('wrong')?.lastError ?? '', /denied \(403\)/)

  runtime.activate({
    id: '2',
    name: 'nobucket',
    type: 's3',
    config: { ...s3.config, bucket: 'no-such-bucket' },
    secrets: s3.secrets,
  })
  const none = new BoundServices(runtime, { s: 'nobucket' }).storage('s')
  await assert.rejects(none.get('k'), (e: unknown) => isHandlerError(e) && e.status === 503)
  assert.match(runtime.status('nobucket')?.lastError ?? '', /does not exist/)

  runtime.activate({
    id: '3',
    name: 'made',
    type: 's3',
    config: { ...s3.config, bucket: 'made-on-connect', create_bucket: true },
    secrets: s3.secrets,
  })
  const made = new BoundServices(runtime, { s: 'made' }).storage('s')
  await made.put('k', 'v')
  assert.equal(Buffer.from((await made.get('k'))?.body ?? []).toString(), 'v')
})
