import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { ACTOR_FIELDS, bool, isSocketError, type ServiceKind, str } from '../kind.ts'
import { expirySeconds, listArgs, objectBody, objectKey } from './keys.ts'

interface Bucket {
  client: S3Client
  bucket: string
}

/**
 * `s3`: any S3-compatible server (AWS, MinIO, s3rver, …) through `@aws-sdk/client-s3`. A pooled
 * connection is one S3Client; connecting checks the bucket (HeadBucket), so wrong credentials or
 * a missing bucket show as `service_unavailable` with the reason in the service's last error.
 */
export const s3Kind: ServiceKind<Bucket> = {
  type: 's3',
  family: 'storage',
  defaultPoolSize: 8,
  fields: [
    {
      name: 'endpoint',
      type: 'string',
      help: 'http(s)://host:port of an S3-compatible server; empty for AWS',
    },
    { name: 'region', type: 'string', default: 'us-east-1', help: 'Region' },
    { name: 'bucket', type: 'string', required: true, help: 'Bucket name' },
    { name: 'access_key', type: 'string', required: true, help: 'Access key id' },
    {
      name: 'secret_key',
      type: 'string',
      required: true,
      secret: true,
      help: 'Secret access key (write-only)',
    },
    {
      name: 'force_path_style',
      type: 'boolean',
      default: true,
      help: 'host/bucket/key URLs (MinIO, s3rver) instead of bucket.host/key',
    },
    {
      name: 'create_bucket',
      type: 'boolean',
      default: false,
      help: 'Create the bucket when it does not exist',
    },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    const bucket = str(config, 'bucket')
    return {
      async connect() {
        const client = new S3Client({
          endpoint: str(config, 'endpoint') || undefined,
          region: str(config, 'region'),
          forcePathStyle: bool(config, 'force_path_style'),
          credentials: { accessKeyId: str(config, 'access_key'), secretAccessKey: str(config, 'secret_key') },
          maxAttempts: 1,
          // The SDK's default CRC checksums (aws-chunked uploads) are AWS's; many S3-compatible
          // servers refuse them. Checksums only where an operation requires them.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        })
        try {
          await client.send(new HeadBucketCommand({ Bucket: bucket }))
        } catch (error) {
          if (bool(config, 'create_bucket') && statusOf(error) === 404)
            await client.send(new CreateBucketCommand({ Bucket: bucket }))
          else {
            client.destroy()
            throw describe(error, bucket)
          }
        }
        return { client, bucket }
      },
      async close({ client }) {
        client.destroy()
      },
      isConnectionError: isSocketError,
    }
  },
  operations: {
    async put({ client, bucket }, [key, body, contentType]) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: objectKey(key),
          Body: objectBody(body),
          ContentType: typeof contentType === 'string' ? contentType : 'application/octet-stream',
        }),
      )
    },
    async get({ client, bucket }, [key]) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
        const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array()
        return { body, contentType: out.ContentType ?? 'application/octet-stream', size: body.byteLength }
      } catch (error) {
        if (statusOf(error) === 404) return null
        throw error
      }
    },
    async head({ client, bucket }, [key]) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
        return {
          contentType: out.ContentType ?? 'application/octet-stream',
          size: Number(out.ContentLength ?? 0),
        }
      } catch (error) {
        if (statusOf(error) === 404) return null
        throw error
      }
    },
    // ListObjects (v1) with the last key as the marker: every S3-compatible server has it, and the
    // token stays a key, where v2's opaque tokens are each server's own (s3rver's cannot even be
    // made on Node 24's OpenSSL).
    async list({ client, bucket }, args) {
      const { prefix, limit, token } = listArgs(args)
      const out = await client.send(
        new ListObjectsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          MaxKeys: limit,
          Marker: token ?? undefined,
        }),
      )
      const objects = (out.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        size: Number(o.Size ?? 0),
        lastModified: o.LastModified ? o.LastModified.toISOString() : null,
      }))
      return { objects, continuationToken: out.IsTruncated ? (objects.at(-1)?.key ?? null) : null }
    },
    async delete({ client, bucket }, [key]) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
      return true
    },
    async presignedUrl({ client, bucket }, [key, seconds]) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), {
        expiresIn: expirySeconds(seconds),
      })
    },
  },
  streams: {
    write: (connection, key, source, contentType) =>
      writeStream(connection, objectKey(key), source, contentType),
    async read({ client, bucket }, key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
        return {
          body: out.Body as Readable,
          contentType: out.ContentType ?? 'application/octet-stream',
          size: Number(out.ContentLength ?? 0),
        }
      } catch (error) {
        if (statusOf(error) === 404) return null
        throw error
      }
    },
  },
  async ping({ client, bucket }) {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
  },
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
}

/** HeadBucket answers without a body, so the SDK's message is often just "UnknownError": say what the status means. */
function describe(error: unknown, bucket: string): Error {
  if (isSocketError(error)) return error as Error
  const status = statusOf(error)
  if (status === 403)
    return new Error(`access to bucket "${bucket}" denied (403): check access_key and secret_key`)
  if (status === 404)
    return new Error(`bucket "${bucket}" does not exist (404); set create_bucket to make it`)
  return error instanceof Error ? error : new Error(String(error))
}

/** Bytes per part of a streamed upload: what is held in memory at once (S3 takes 5 MiB at least, but for the last). */
export const PART_BYTES = 8 * 2 ** 20

/**
 * A stream of unknown length into S3: one PutObject when it ends within the first part, else a
 * multipart upload, one part at a time (reading waits while a part is sent, so memory stays at
 * one part). A failure aborts the upload, so no parts are left behind to pay for.
 */
async function writeStream(
  { client, bucket }: Bucket,
  key: string,
  source: Readable,
  contentType: string,
): Promise<{ size: number }> {
  let chunks: Buffer[] = []
  let buffered = 0
  let size = 0
  let uploadId: string | undefined
  const parts: { ETag: string | undefined; PartNumber: number }[] = []
  const sendPart = async () => {
    const body = Buffer.concat(chunks, buffered)
    chunks = []
    buffered = 0
    if (uploadId === undefined) {
      const created = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
      )
      uploadId = created.UploadId
    }
    const PartNumber = parts.length + 1
    const out = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: body }),
    )
    parts.push({ ETag: out.ETag, PartNumber })
  }
  try {
    for await (const chunk of source) {
      const bytes = chunk as Buffer
      chunks.push(bytes)
      buffered += bytes.byteLength
      size += bytes.byteLength
      if (buffered >= PART_BYTES) await sendPart()
    }
    if (uploadId === undefined) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: Buffer.concat(chunks, buffered),
          ContentType: contentType,
        }),
      )
      return { size }
    }
    if (buffered > 0) await sendPart()
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    )
    return { size }
  } catch (error) {
    if (uploadId !== undefined)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => {})
    throw error
  }
}
