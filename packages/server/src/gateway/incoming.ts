import type { IncomingMessage } from 'node:http'
import type { RequestInit } from '@edgeforge/sdk'

/** What the dispatcher needs from a request's headers before it calls the handler. */
export interface Head {
  /** The client's `x-request-id`, when it sent exactly one. */
  requestId: string | undefined
  /** A `content-length` or `transfer-encoding` header announces a body. */
  hasBody: boolean
}

/**
 * Reads the few headers the dispatcher needs straight from `rawHeaders` into `head`. Node builds
 * `req.headers` on first access, one call per header; the hot path leaves that to handlers that
 * ask. Only names of a matching length are lower-cased.
 */
export function readHead(raw: string[], head: Head): void {
  head.requestId = undefined
  head.hasBody = false
  let ids = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const length = name.length
    if (length === 12) {
      if (name.toLowerCase() === 'x-request-id') {
        ids += 1
        head.requestId = raw[i + 1]
      }
    } else if (length === 14 || length === 17) {
      const lower = name.toLowerCase()
      if (lower === 'content-length' || lower === 'transfer-encoding') head.hasBody = true
    }
  }
  // Node would join repeated ids with ', ': treat them as no id at all.
  if (ids > 1) head.requestId = undefined
}

const EMPTY = new Uint8Array(0)

/**
 * The `RequestInit` the gateway hands to the SDK's `Request`: `headers` is a getter, so node
 * builds its header object only if the handler reads a header.
 */
export class IncomingInit implements RequestInit {
  readonly method: string
  readonly path: string
  readonly rawQuery: string
  readonly params: Record<string, string>
  body: Uint8Array = EMPTY
  readonly clientIp: string | undefined
  readonly requestId: string
  private readonly req: IncomingMessage

  constructor(
    req: IncomingMessage,
    method: string,
    path: string,
    rawQuery: string,
    params: Record<string, string>,
    requestId: string,
  ) {
    this.req = req
    this.method = method
    this.path = path
    this.rawQuery = rawQuery
    this.params = params
    this.clientIp = req.socket.remoteAddress
    this.requestId = requestId
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers
  }
}

/** The request's host name, lower-cased and without its port; '' when it sent none. */
export function hostOf(req: IncomingMessage): string {
  const host = req.headers.host
  if (!host) return ''
  const colon = host.lastIndexOf(':')
  // '[::1]:9080' keeps its brackets; 'example.com:9080' loses the port.
  const name = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host
  return name.toLowerCase()
}

export const TOO_LARGE = Symbol('too large')

/**
 * How much of an oversized body is read and dropped after the 413 is decided. A client still
 * writing when the server closes gets a reset instead of the 413 (and with handler threads the
 * client is no longer in step with the server); past this much the connection is cut anyway.
 */
const DISCARD_LIMIT_BYTES = 1024 * 1024

function discardRest(req: IncomingMessage): void {
  let dropped = 0
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > DISCARD_LIMIT_BYTES) req.socket.destroy()
  })
  req.resume()
}

/** The whole body, or TOO_LARGE as soon as it is known to exceed `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | typeof TOO_LARGE> {
  const length = req.headers['content-length']
  if (length !== undefined && Number(length) > limit) {
    discardRest(req)
    return Promise.resolve(TOO_LARGE)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        discardRest(req)
        resolve(TOO_LARGE)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
