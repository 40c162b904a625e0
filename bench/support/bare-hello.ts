// The peer's request handler, shared by bench:gateway's bare node:http server and bench:dispatch:
// the hello handler's work (serialize the same object as JSON), answered with the same headers
// edgeforge writes, so only the gateway's own work differs.
import type { IncomingMessage, ServerResponse } from 'node:http'

let served = 0

export function bareHello(_req: IncomingMessage, res: ServerResponse): void {
  served += 1
  const body = JSON.stringify({ hello: 'world' })
  res.writeHead(200, {
    'content-type': 'application/json',
    // edgeforge sends a 36-character UUIDv7; a counter of the same length keeps the bytes equal.
    'x-request-id': String(served).padStart(36, '0'),
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}
