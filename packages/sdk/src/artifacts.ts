/**
 * What `ctx.artifacts.put` uploads: bytes, text (UTF-8), a web `ReadableStream`, or any async
 * iterable of byte chunks — a Node `Readable` such as `createReadStream(path)` is one. Streams are
 * sent as they are read, never collected in memory.
 *
 * @example
 * const body: ArtifactBody = createReadStream('dist/app.tgz')
 */
export type ArtifactBody = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

/** @example await ctx.artifacts.put('report.json', JSON.stringify(report), { contentType: 'application/json' }) */
export interface ArtifactPutOptions {
  /** Stored and sent back on download; `application/octet-stream` when not given. @example 'application/gzip' */
  contentType?: string
  /** Cancels the upload (nothing is stored). @example { signal: ctx.signal } */
  signal?: AbortSignal
}

/**
 * A stored artifact, as the server recorded it.
 *
 * @example
 * const { sha256, size } = await ctx.artifacts.put('app.tgz', bytes)
 */
export interface ArtifactInfo {
  /** @example '0193…' */
  jobId: string
  /** @example 'app.tgz' */
  name: string
  /** Bytes. @example 1048576 */
  size: number
  /** Hex SHA-256 of the bytes (the download's etag). @example 'e3b0c442…' */
  sha256: string
  /** @example 'application/gzip' */
  contentType: string
  /** ISO-8601. @example '2026-01-01T00:00:00.000Z' */
  created: string
}

/**
 * `ctx.artifacts`: files a job run keeps with its job.
 *
 * @example
 * await ctx.artifacts.put('app.tgz', createReadStream('dist/app.tgz'), { contentType: 'application/gzip' })
 */
export interface JobArtifacts {
  /**
   * Uploads `body` as the artifact `name` (1–100 characters, no `/` or `\`, not `.` or `..`).
   * A second put of a name replaces the first. Rejects with the server's error (a 413 when it is
   * larger than the server's limit; nothing is kept then).
   *
   * @example
   * await ctx.artifacts.put('coverage.txt', summary)
   */
  put(name: string, body: ArtifactBody, options?: ArtifactPutOptions): Promise<ArtifactInfo>
}
