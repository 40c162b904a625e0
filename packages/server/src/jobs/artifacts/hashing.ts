import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { BlobTooLarge } from './blobs.ts'

/**
 * A pass-through that hashes (SHA-256) and counts what flows, and fails with BlobTooLarge as soon
 * as more than `maxBytes` went by: the over-long body never reaches the backend whole.
 */
export class HashingCounter extends Transform {
  private readonly hash = createHash('sha256')
  private readonly maxBytes: number
  size = 0

  constructor(maxBytes: number) {
    super()
    this.maxBytes = maxBytes
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.maxBytes) {
      done(new BlobTooLarge(this.maxBytes))
      return
    }
    this.hash.update(chunk)
    done(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}
