import { ServiceError } from '@edgeforge/sdk'

/** Object keys: 1–1024 characters, no empty, `.` or `..` segment, no leading slash, no NUL or backslash. */
export function objectKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || key.length > 1024)
    throw new TypeError('an object key must be a string of 1 to 1024 characters')
  if (key.startsWith('/') || key.includes('\0') || key.includes('\\'))
    throw new TypeError(`object key "${key}" must not start with "/" or hold NUL or backslash`)
  for (const segment of key.split('/'))
    if (segment === '' || segment === '.' || segment === '..')
      throw new TypeError(`object key "${key}" has an empty, "." or ".." segment`)
  return key
}

export function objectBody(body: unknown): Buffer {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  throw new TypeError('an object body must be bytes')
}

export function listArgs(args: readonly unknown[]): { prefix: string; limit: number; token: string | null } {
  const [prefix, limit, token] = args
  if (typeof prefix !== 'string') throw new TypeError('a list prefix must be a string')
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new TypeError('a list limit must be an integer from 1 to 1000')
  if (token !== null && typeof token !== 'string')
    throw new TypeError('a continuation token must be a string')
  return { prefix, limit, token: token as string | null }
}

export function expirySeconds(seconds: unknown): number {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > 7 * 24 * 3600)
    throw new TypeError('a presigned URL lasts 1 second to 7 days (604800)')
  return seconds
}

export function notFound(service: string, key: string): ServiceError {
  return new ServiceError(service, 'not_found', `no object "${key}"`)
}
