import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { expectError, expectStatus } from './support/endpoints.ts'
import { startS3 } from './support/s3.ts'
import { startTestServer } from './support/server.ts'

/** The built-in object routes of storage services, on filesystem and on S3 (s3rver, read back with the AWS SDK). */

test('object routes: list with prefix, multipart upload, download with type and length, delete; two stores side by side', async (t) => {
  const srv = await startTestServer(t)
  const s3 = await startS3(t)
  expectStatus(await srv.api('POST', '/api/services', { name: 'uploads', service_type: 'filesystem' }), 201)
  expectStatus(
    await srv.api('POST', '/api/services', {
      name: 'media',
      service_type: 's3',
      config: s3.config,
      secrets: s3.secrets,
    }),
    201,
  )

  for (const store of ['uploads', 'media']) {
    const form = new FormData()
    form.append('key', 'docs/readme.txt')
    form.append('file', new Blob(['hello objects'], { type: 'text/plain' }), 'ignored-name.txt')
    const up = await fetch(`${srv.controlUrl}/api/storage/${store}/objects`, { method: 'POST', body: form })
    assert.equal(up.status, 201, await up.clone().text())
    assert.deepEqual(((await up.json()) as { data: unknown }).data, {
      service: store,
      key: 'docs/readme.txt',
      size: 13,
      content_type: 'text/plain',
    })
    const named = new FormData()
    named.append('file', new Blob([new Uint8Array([0, 1, 2])]), 'raw.bin')
    assert.equal(
      (await fetch(`${srv.controlUrl}/api/storage/${store}/objects`, { method: 'POST', body: named })).status,
      201,
    )

    const listed = expectStatus(
      await srv.api<{ objects: { key: string; size: number }[] }>(
        'GET',
        `/api/storage/${store}/objects?prefix=docs/`,
      ),
      200,
    ).body.data
    assert.deepEqual(
      listed.objects.map((o) => [o.key, o.size]),
      [['docs/readme.txt', 13]],
    )

    const down = await fetch(`${srv.controlUrl}/api/storage/${store}/objects/docs/readme.txt`)
    assert.equal(down.status, 200)
    assert.equal(down.headers.get('content-type'), 'text/plain')
    assert.equal(down.headers.get('content-length'), '13')
    assert.equal(await down.text(), 'hello objects')
    expectError(await srv.api('GET', `/api/storage/${store}/objects/docs/missing.txt`), 404, 'not_found')

    const gone = expectStatus(
      await srv.api<{ deleted: boolean }>('DELETE', `/api/storage/${store}/objects/raw.bin`),
      200,
    )
    assert.equal(gone.body.data.deleted, true)
  }

  // What the S3 routes wrote, as the AWS SDK sees it.
  const inBucket = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
  assert.deepEqual(
    (inBucket.Contents ?? []).map((o) => o.Key),
    ['docs/readme.txt'],
  )
  const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'docs/readme.txt' }))
  assert.equal(await got.Body?.transformToString(), 'hello objects')
  // And what the filesystem routes wrote, on disk.
  assert.equal(
    readFileSync(join(srv.dataDir, 'services', 'storage', 'uploads', 'objects', 'docs%2Freadme.txt'), 'utf8'),
    'hello objects',
  )

  expectError(await srv.api('GET', '/api/storage/nope/objects'), 404, 'not_found')
  // (fetch resolves a `..` itself; an empty segment reaches the server and is refused there.)
  expectError(await srv.api('GET', '/api/storage/uploads/objects/a//b'), 400, 'validation_failed')
})

const SIGNING_ROOT = 'object-routes-root-token-0123456789'

for (const adminToken of [undefined, SIGNING_ROOT])
  test(`a filesystem presignedUrl from a handler downloads without a header until it expires; a forged one is 403 (${adminToken ? 'admin token set' : 'open loopback'})`, async (t) => {
    const srv = await startTestServer(t, adminToken ? { 'admin-token': adminToken } : {})
    const root: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {}
    expectStatus(
      await srv.api('POST', '/api/services', { name: 'uploads', service_type: 'filesystem' }, root),
      201,
    )
    const code = `
import { handler, Response } from '@edgeforge/sdk'
export default handler(async (_req, ctx) => {
  const files = ctx.storage('files')
  await files.put('reports/jan.csv', 'a,b\\n1,2\\n', { contentType: 'text/csv' })
  await files.put('reports/feb.csv', 'x', { contentType: 'text/csv' })
  return Response.ok({ url: await files.presignedUrl('reports/jan.csv', 60) })
})
`
    const endpoint = expectStatus(
      await srv.api<{ id: string }>(
        'POST',
        '/api/endpoints',
        { name: 'sign', path: '/sign', method: 'GET', code },
        root,
      ),
      201,
    ).body.data
    expectStatus(
      await srv.api(
        'POST',
        `/api/endpoints/${endpoint.id}/services`,
        { binding: 'files', service: 'uploads' },
        root,
      ),
      200,
    )
    expectStatus(await srv.api('POST', `/api/endpoints/${endpoint.id}/deploy`, undefined, root), 200)
    const { url } = (await (await fetch(`${srv.gatewayUrl}/sign`)).json()) as { url: string }
    assert.ok(url.startsWith(`${srv.controlUrl}/api/storage/uploads/objects/reports/jan.csv?expires=`), url)
    const res = await fetch(url)
    assert.equal(res.status, 200, await res.clone().text())
    assert.equal(res.headers.get('content-type'), 'text/csv')
    assert.equal(await res.text(), 'a,b\n1,2\n')
    const forged = url.replace(/signature=[^&]+/, 'signature=AAAA')
    assert.equal((await fetch(forged)).status, 403)
    const otherKey = url.replace('jan.csv', 'feb.csv')
    assert.equal((await fetch(otherKey)).status, 403)
    const expired = url.replace(/expires=\d+/, 'expires=1000')
    assert.equal((await fetch(expired)).status, 403)
    // The link reads that one object: it deletes nothing and lists nothing.
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 401)
    if (adminToken) {
      const listing = url.replace('/objects/reports/jan.csv', '/objects')
      assert.equal((await fetch(listing)).status, 401)
    }
  })
