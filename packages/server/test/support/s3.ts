import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'

/** s3rver's fixed credentials: it checks request signatures against these. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/**
 * A real S3-compatible server (s3rver, from npm) on a free loopback port with one bucket, for one
 * test; and an AWS SDK client of the test's own to check what the service wrote.
 */
export async function startS3(t: TestContext, bucket = 'edgeforge-test') {
  const directory = mkdtempSync(join(tmpdir(), 'edgeforge-s3-'))
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: !process.env.S3_DEBUG,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  })
  const address = (await server.run()) as { port: number }
  const endpoint = `http://127.0.0.1:${address.port}`
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  t.after(async () => {
    client.destroy()
    await server.close()
    rmSync(directory, { recursive: true, force: true })
  })
  return {
    endpoint,
    bucket,
    client,
    config: { endpoint, bucket, access_key: S3RVER_CREDENTIALS.accessKeyId },
    secrets: { secret_key: S3RVER_CREDENTIALS.secretAccessKey },
  }
}
