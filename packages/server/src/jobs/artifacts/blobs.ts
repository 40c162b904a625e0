import type { Readable } from 'node:stream'

/*
 * Where artifact bytes live: a flat key space of blobs, written once. Keys are made by the
 * artifact service (`<job id>/<uuid>`), never from a caller's name, so no name can reach outside
 * the store. A write is all or nothing: until `write` resolves nothing is visible under the key,
 * and when it rejects (an error, an aborted client, a size over the limit) nothing is left.
 */

export interface WrittenBlob {
  size: number
  /** Hex SHA-256 of the bytes, computed while they streamed through. */
  sha256: string
}

/** An inclusive byte range, as HTTP states it. */
export interface ByteRange {
  start: number
  end: number
}

export interface BlobStore {
  /** `filesystem` or `s3`, for logs and the storage info. */
  readonly kind: string
  /**
   * Streams `body` into the blob `key`, hashing it; rejects with BlobTooLarge past `maxBytes`
   * (and leaves nothing behind), or with the stream's own error.
   */
  write(key: string, body: Readable, maxBytes: number, contentType: string): Promise<WrittenBlob>
  /** The blob's bytes (or a range of them) as a stream; rejects with BlobMissing when it is gone. */
  read(key: string, range?: ByteRange): Promise<Readable>
  /** Deletes the blob; a missing one is not an error. */
  delete(key: string): Promise<void>
  close(): Promise<void>
}

export class BlobTooLarge extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`the artifact is larger than the limit of ${limit} bytes (EDGEFORGE_ARTIFACT_MAX_BYTES)`)
    this.name = 'BlobTooLarge'
    this.limit = limit
  }
}

export class BlobMissing extends Error {
  constructor(key: string) {
    super(`artifact blob ${key} is missing from the store`)
    this.name = 'BlobMissing'
  }
}
