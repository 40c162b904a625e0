import { posix } from 'node:path'
import type { FileEntry } from '@edgeforge/sdk'

/** What the `ftp` kind runs on, whichever protocol carries it. */
export interface RemoteFiles {
  put(path: string, body: Buffer): Promise<void>
  /** null when there is no such file. */
  get(path: string): Promise<Buffer | null>
  list(path: string): Promise<FileEntry[]>
  /** false when there was no such file. */
  delete(path: string): Promise<boolean>
  mkdir(path: string): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
  /** The transport dropped (the server went away). */
  readonly alive: boolean
}

/**
 * A handler's path under the service's base path. `..` segments are refused rather than
 * resolved, so no path can leave the base folder.
 */
export function remotePath(basePath: string, path: unknown): string {
  if (typeof path !== 'string' || path.length > 1024)
    throw new TypeError('a path must be a string of at most 1024 characters')
  if (path.includes('\0')) throw new TypeError('a path must not hold NUL')
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) throw new TypeError(`path "${path}" must not have ".." segments`)
  // Without a base path, paths stay relative: the server resolves them from the login folder.
  if (!basePath) return segments.join('/') || '.'
  return posix.join(basePath, ...segments)
}

export function fileBody(body: unknown): Buffer {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  throw new TypeError('a file body must be bytes')
}
