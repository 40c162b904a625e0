import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { BlobMissing, type BlobStore, type ByteRange, type WrittenBlob } from './blobs.ts'
import { HashingCounter } from './hashing.ts'

export interface S3BlobsConfig {
  endpoint: string
  region: string
  bucket: string
  accessKey: string
  secretKey: string
  /** Key prefix inside the bucket, e.g. `artifacts/`. */
  prefix: string
}

/** S3's smallest part (but the last) is 5 MiB; 8 MiB keeps a 1 GB upload at 128 parts. */
const PART_BYTES = 8 * 1024 * 1024

/**
 * Blobs as objects in an S3-compatible bucket (AWS, MinIO, s3rver), with the client options of
 * the `s3` storage kind. A body is sent as a multipart upload, one 8 MiB part in memory at a
 * time; an upload that fails is aborted, so S3 keeps none of its parts and no object appears. A
 * body under one part is a single PutObject.
 */
export class S3Blobs implements BlobStore {
  readonly kind = 's3'
  private readonly client: S3Client
  private readonly config: S3BlobsConfig

  constructor(config: S3BlobsConfig) {
    this.config = config
    this.client = new S3Client({
      endpoint: config.endpoint || undefined,
      region: config.region,
      forcePathStyle: true,
      credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey },
      maxAttempts: 2,
      // As the s3 storage kind: many S3-compatible servers refuse the SDK's default CRC uploads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
  }

  async write(key: string, body: Readable, maxBytes: number, contentType: string): Promise<WrittenBlob> {
    const Key = this.keyOf(key)
    const Bucket = this.config.bucket
    const counter = new HashingCounter(maxBytes)
    body.on('error', (error) => counter.destroy(error))
    body.pipe(counter)
    let uploadId: string | undefined
    const parts: { ETag: string | undefined; PartNumber: number }[] = []
    let pending: Buffer[] = []
    let pendingBytes = 0
    const flushPart = async () => {
      if (uploadId === undefined) {
        const created = await this.client.send(
          new CreateMultipartUploadCommand({ Bucket, Key, ContentType: contentType }),
        )
        uploadId = created.UploadId
      }
      const PartNumber = parts.length + 1
      const part = Buffer.concat(pending, pendingBytes)
      pending = []
      pendingBytes = 0
      const out = await this.client.send(
        new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: part }),
      )
      parts.push({ ETag: out.ETag, PartNumber })
    }
    try {
      for await (const chunk of counter as AsyncIterable<Buffer>) {
        pending.push(chunk)
        pendingBytes += chunk.length
        // Awaited inside the loop: the request stream is paused meanwhile (backpressure).
        if (pendingBytes >= PART_BYTES) await flushPart()
      }
      if (uploadId === undefined) {
        await this.client.send(
          new PutObjectCommand({
            Bucket,
            Key,
            Body: Buffer.concat(pending, pendingBytes),
            ContentType: contentType,
          }),
        )
      } else {
        if (pendingBytes > 0) await flushPart()
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        )
      }
    } catch (error) {
      body.unpipe(counter)
      counter.destroy()
      if (uploadId !== undefined)
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
          .catch(() => {})
      throw error
    }
    return { size: counter.size, sha256: counter.digest() }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.config.bucket,
          Key: this.keyOf(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      )
      return out.Body as Readable
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
      if (status === 404) throw new BlobMissing(key)
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(key) }))
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  private keyOf(key: string): string {
    return this.config.prefix + key
  }
}
