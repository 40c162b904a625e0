import { isIP } from 'node:net'
import { ApiError } from '@edgeforge/protocol'

/**
 * Who may talk to the control plane, checked before anything else answers (routes, 404s, 405s,
 * router errors), so a caller who fails here learns nothing about the API.
 *
 * - Without an admin token the API is open to whoever reaches the loopback listener. A web page in
 *   the operator's browser can reach it too, by rebinding its own name to 127.0.0.1 (DNS
 *   rebinding): such requests carry the page's host name in `Host`, so only loopback names (and
 *   the configured ones) are answered.
 * - A browser request from another origin (an `Origin` that is not this control plane's own, nor
 *   one of EDGEFORGE_CORS_ORIGINS) is refused on every route, token or not: a page could otherwise
 *   fire body-less actions (`text/plain`, no preflight) at the API.
 * - Credentials are the auth context's (auth/guard.ts), checked right after this.
 */
export interface GuardOptions {
  adminToken: string
  /** Host names (no port) answered without a token besides the loopback ones. */
  allowedHosts: readonly string[]
  /** Browser origins allowed to call cross-origin (EDGEFORGE_CORS_ORIGINS). */
  corsOrigins?: readonly string[]
}

export interface GuardedRequest {
  headers: Record<string, string | string[] | undefined>
}

export function createGuard(options: GuardOptions): (req: GuardedRequest) => ApiError | undefined {
  const allowed = new Set(options.allowedHosts.map((host) => host.toLowerCase()))
  const token = options.adminToken !== ''
  const corsOrigins = new Set(options.corsOrigins ?? [])
  return (req) => {
    const host = single(req.headers.host)
    if (!token && host !== undefined) {
      const name = hostName(host)
      if (!isLoopbackName(name) && !allowed.has(name)) {
        return new ApiError(
          'forbidden',
          `the control plane answers host name '${name}' only with an admin token; use 127.0.0.1 or localhost, or add the name to EDGEFORGE_CONTROL_ALLOWED_HOSTS`,
          { host: name },
        )
      }
    }
    const origin = single(req.headers.origin)
    if (origin !== undefined && !corsOrigins.has(origin) && !isSameOrigin(origin, host)) {
      return new ApiError(
        'forbidden',
        'cross-origin browser requests to the control plane are refused: call it from its own origin, the CLI or a server',
        { origin },
      )
    }
    return undefined
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** `Host` without its port, lower case; IPv6 literals without their brackets. */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    return end === -1 ? lower : lower.slice(1, end)
  }
  const colon = lower.indexOf(':')
  return colon === -1 ? lower : lower.slice(0, colon)
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  if (isIP(name) === 4) return name.startsWith('127.')
  return name === '::1'
}

/** A browser's `Origin` is this control plane's own when it names the host the request was sent to. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false // "null" (sandboxed frames, file:) and anything unparseable
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  try {
    return url.host === new URL(`${url.protocol}//${host}`).host
  } catch {
    return false
  }
}
