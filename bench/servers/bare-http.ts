// The peer of the gateway benchmark: a bare node:http server doing the handler's work (serialize
// the same object as JSON) and answering with the same headers edgeforge writes, so only the
// gateway's own work differs. Runs as a child process of bench/gateway.ts.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ready, stopOnRequest } from '../support/child.ts'

let served = 0

// Same listener options as the gateway (packages/server/src/gateway/listener.ts).
const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, (_req, res) => {
  served += 1
  const body = JSON.stringify({ hello: 'world' })
  res.writeHead(200, {
    'content-type': 'application/json',
    // edgeforge sends a 36-character UUIDv7; a counter of the same length keeps the bytes equal.
    'x-request-id': String(served).padStart(36, '0'),
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  ready({ url: `http://127.0.0.1:${port}/hello` })
})

stopOnRequest(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
