import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { ApiError, artifactNameProblem } from '@edgeforge/protocol'
import type { Logger } from '../../observability/logger.ts'
import type { Db } from '../../store/index.ts'
import { type BlobStore, BlobTooLarge, type ByteRange } from './blobs.ts'
import { DownloadCounters } from './counters.ts'
import { type ArtifactRecord, ArtifactRows } from './rows.ts'

export interface ArtifactServiceOptions {
  db: Db
  blobs: BlobStore
  logger: Logger
  /** Largest artifact accepted, bytes (EDGEFORGE_ARTIFACT_MAX_BYTES). */
  maxBytes: number
  /** How often buffered download counts go to the store (EDGEFORGE_ARTIFACT_COUNTER_FLUSH_MS). */
  counterFlushMs: number
  /** How often artifacts of deleted jobs are removed (EDGEFORGE_ARTIFACT_SWEEP_MS). */
  sweepMs: number
}

const SWEEP_BATCH = 500

/**
 * Job artifacts: streamed uploads into a blob store (hashed on the way, rows written only once a
 * blob is complete), downloads with buffered counters, and the sweep that removes the artifacts of
 * jobs that are gone (their queue's retention, or a delete) with their blobs.
 *
 * Overwrite: a second upload of a name replaces the first once it is complete; until then the
 * old one is served. Its blob is deleted by the next sweep.
 */
export class ArtifactService {
  readonly maxBytes: number
  private readonly options: ArtifactServiceOptions
  private readonly rows: ArtifactRows
  private readonly counters: DownloadCounters
  private timers: NodeJS.Timeout[] = []
  private sweeping: Promise<unknown> | undefined

  constructor(options: ArtifactServiceOptions) {
    this.options = options
    this.maxBytes = options.maxBytes
    this.rows = new ArtifactRows(options.db)
    this.counters = new DownloadCounters((counts) => this.rows.addDownloads(counts))
  }

  get blobs(): BlobStore {
    return this.options.blobs
  }

  start(): void {
    const flush = setInterval(() => {
      this.counters
        .flush()
        .catch((err: unknown) =>
          this.options.logger.warn(
            { err },
            'artifacts: flushing download counts failed; kept for the next flush',
          ),
        )
    }, this.options.counterFlushMs)
    const sweep = setInterval(() => void this.sweep(), this.options.sweepMs)
    flush.unref()
    sweep.unref()
    this.timers = [flush, sweep]
  }

  /** Stops the timers and writes the counts still in memory. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    await this.sweeping
    await this.counters
      .flush()
      .catch((err: unknown) =>
        this.options.logger.error(
          { err },
          'artifacts: the last flush of download counts failed; they are lost',
        ),
      )
    await this.options.blobs.close()
  }

  /** The job's queue; a 404 when there is no such job. */
  async queueOf(jobId: string): Promise<string> {
    const queue = await this.rows.jobQueue(jobId)
    if (queue === undefined) throw new ApiError('not_found', `no job with id ${jobId}`)
    return queue
  }

  /**
   * Stores `body` as the job's artifact `name`. `declaredLength` (content-length) over the limit
   * is refused before a byte is read; a body that turns out longer is cut off at the limit.
   */
  async upload(
    jobId: string,
    name: string,
    body: Readable,
    contentType: string,
    declaredLength?: number,
  ): Promise<ArtifactRecord> {
    checkName(name)
    if (declaredLength !== undefined && declaredLength > this.maxBytes) throw tooLarge(this.maxBytes)
    await this.queueOf(jobId)
    const blobKey = randomUUID()
    let written: { size: number; sha256: string }
    try {
      written = await this.options.blobs.write(blobKey, body, this.maxBytes, contentType)
    } catch (error) {
      if (error instanceof BlobTooLarge) throw tooLarge(this.maxBytes)
      throw error
    }
    try {
      return await this.rows.put({
        jobId,
        name,
        blobKey,
        size: written.size,
        sha256: written.sha256,
        contentType,
        createdAt: Date.now(),
      })
    } catch (error) {
      await this.options.blobs.delete(blobKey).catch(() => {})
      throw error
    }
  }

  async list(jobId: string): Promise<ArtifactRecord[]> {
    await this.queueOf(jobId)
    return (await this.rows.list(jobId)).map((a) => this.withUnflushed(a))
  }

  async find(jobId: string, name: string): Promise<ArtifactRecord> {
    checkName(name)
    const artifact = await this.rows.get(jobId, name)
    if (!artifact) {
      await this.queueOf(jobId)
      throw new ApiError('not_found', `job ${jobId} has no artifact named ${name}`)
    }
    return this.withUnflushed(artifact)
  }

  /** The artifact's bytes; counts a download when it starts from the first byte. */
  async read(artifact: ArtifactRecord, range?: ByteRange): Promise<Readable> {
    const stream = await this.options.blobs.read(artifact.blobKey, range)
    if (!range || range.start === 0) this.counters.count(artifact.jobId, artifact.name)
    return stream
  }

  flushCounters(): Promise<void> {
    return this.counters.flush()
  }

  /** Removes the artifacts of jobs that no longer exist, and every blob a row let go of. */
  sweep(): Promise<unknown> {
    if (!this.sweeping)
      this.sweeping = this.sweepOnce()
        .catch((err: unknown) =>
          this.options.logger.warn({ err }, 'artifacts: sweep failed; retried next round'),
        )
        .finally(() => {
          this.sweeping = undefined
        })
    return this.sweeping
  }

  private async sweepOnce(): Promise<{ artifacts: number; blobs: number }> {
    let artifacts = 0
    for (;;) {
      const moved = await this.rows.collectOrphans(SWEEP_BATCH)
      artifacts += moved
      if (moved < SWEEP_BATCH) break
    }
    let blobs = 0
    for (;;) {
      const keys = await this.rows.garbage(SWEEP_BATCH)
      for (const key of keys) {
        await this.options.blobs.delete(key)
        await this.rows.forget(key)
      }
      blobs += keys.length
      if (keys.length < SWEEP_BATCH) break
    }
    return { artifacts, blobs }
  }

  private withUnflushed(artifact: ArtifactRecord): ArtifactRecord {
    const extra = this.counters.unflushed(artifact.jobId, artifact.name)
    return extra ? { ...artifact, downloads: artifact.downloads + extra } : artifact
  }
}

function checkName(name: string): void {
  const problem = artifactNameProblem(name)
  if (problem) throw new ApiError('validation_failed', problem, { field: 'params.name' })
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    'payload_too_large',
    `an artifact may be at most ${limit} bytes (EDGEFORGE_ARTIFACT_MAX_BYTES); nothing was stored`,
    { limit_bytes: limit },
  )
}
