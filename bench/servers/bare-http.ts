// The peer of the gateway benchmark: a bare node:http server running bareHello (the hello
// handler's work, the same headers edgeforge writes). Runs as a child process of bench/gateway.ts.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bareHello } from '../support/bare-hello.ts'
import { ready, stopOnRequest } from '../support/child.ts'

// Same listener options as the gateway (packages/server/src/gateway/listener.ts).
const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, bareHello)

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  ready({ url: `http://127.0.0.1:${port}/hello` })
})

stopOnRequest(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
