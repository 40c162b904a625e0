import { randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BlobMissing, type BlobStore, type ByteRange, type WrittenBlob } from './blobs.ts'
import { HashingCounter } from './hashing.ts'

/**
 * Blobs as files under `<data dir>/artifacts/blobs/`, one per key (keys are UUIDs the service
 * makes). A write goes to `tmp/<uuid>` and is renamed into place once complete and flushed, so
 * a crash or a failed upload leaves at most a temp file, removed at the next start.
 */
export class FilesystemBlobs implements BlobStore {
  readonly kind = 'filesystem'
  private readonly blobs: string
  private readonly temp: string

  constructor(root: string) {
    this.blobs = join(root, 'blobs')
    this.temp = join(root, 'tmp')
  }

  async open(): Promise<this> {
    await mkdir(this.blobs, { recursive: true })
    // What a crash mid-upload left: never referenced by a row, so it goes.
    await rm(this.temp, { recursive: true, force: true })
    await mkdir(this.temp, { recursive: true })
    return this
  }

  async write(key: string, body: Readable, maxBytes: number): Promise<WrittenBlob> {
    const tempPath = join(this.temp, randomUUID())
    const counter = new HashingCounter(maxBytes)
    try {
      await pipeline(body, counter, createWriteStream(tempPath, { flags: 'wx' }))
      const handle = await open(tempPath, 'r+')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(tempPath, this.pathOf(key))
    } catch (error) {
      await rm(tempPath, { force: true })
      throw error
    }
    return { size: counter.size, sha256: counter.digest() }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key)
    // Opened before answering, so a missing file is an error here, not a broken stream later.
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new BlobMissing(key)
      throw error
    })
    return createReadStream('', { fd: handle, start: range?.start, end: range?.end })
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true })
  }

  async close(): Promise<void> {}

  /** Files in the temp folder now (for tests: nothing partial is left behind). */
  async tempFiles(): Promise<string[]> {
    return readdir(this.temp)
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.pathOf(key)).then(
      () => true,
      () => false,
    )
  }

  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(key)) throw new TypeError(`bad blob key ${key}`)
    return join(this.blobs, key)
  }
}
