import { ApiError } from '@edgeforge/protocol'

export interface Page<T> {
  items: T[]
  continuation_token: string | null
}

/** An opaque token that resumes a listing after the given sort key. */
export function encodeToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ after: lastKey })).toString('base64url')
}

export function decodeToken(token: string | undefined): string | undefined {
  if (!token) return undefined
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown }
    if (typeof parsed.after === 'string') return parsed.after
  } catch {
    // fall through to the error below
  }
  throw new ApiError(
    'validation_failed',
    'continuation_token is not one this server issued; start again without it',
    {
      field: 'querystring.continuation_token',
    },
  )
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only says that more exist.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit)
  const more = rows.length > limit
  return {
    items,
    continuation_token: more && items.length ? encodeToken(keyOf(items[items.length - 1])) : null,
  }
}
