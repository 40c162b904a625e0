// The multi-core peer of the gateway benchmark: bare node:http running bareHello in N worker
// threads of one process, each listening on the same port with reusePort, the way edgeforge's
// handler threads do. Runs as a child process of bench/gateway.ts: `bare-http-threads.ts <N>`.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { bareHello } from '../support/bare-hello.ts'
import { ready, stopOnRequest } from '../support/child.ts'

if (isMainThread) {
  const threads = Number(process.argv[2] ?? '1')
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`bad thread count ${process.argv[2]}`)
  const workers: Worker[] = []
  const start = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { port } })
      workers.push(worker)
      worker.once('message', (listening: number) => resolve(listening))
      worker.once('error', reject)
    })
  // The first thread picks the port; the others share it.
  const port = await start(0)
  await Promise.all(Array.from({ length: threads - 1 }, () => start(port)))
  stopOnRequest(async () => {
    await Promise.all(workers.map((worker) => worker.terminate()))
  })
  ready({ url: `http://127.0.0.1:${port}/hello` })
} else {
  // Same listener options as the gateway (packages/server/src/gateway/listener.ts).
  const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, bareHello)
  server.listen({ port: (workerData as { port: number }).port, host: '127.0.0.1', reusePort: true }, () =>
    parentPort?.postMessage((server.address() as AddressInfo).port),
  )
}
