import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Dispatcher } from './dispatch.ts'
import type { HandlerRegistry } from './registry.ts'

/** How long a client may take to send a request: node answers 408 and closes the connection after. */
export interface ClientTimeouts {
  /** Until the last header line has arrived. */
  headersTimeoutMs: number
  /** Until the whole request, body included, has arrived; the handler's own time is not counted. */
  requestTimeoutMs: number
}

/** The public listener of the data plane: plain node:http in front of the dispatcher. */
export class GatewayListener {
  readonly server: Server
  private readonly registry: HandlerRegistry

  constructor(dispatcher: Dispatcher, registry: HandlerRegistry, timeouts: ClientTimeouts) {
    this.registry = registry
    this.server = createServer(
      {
        keepAliveTimeout: 5000,
        headersTimeout: timeouts.headersTimeoutMs,
        requestTimeout: timeouts.requestTimeoutMs,
        // node checks those deadlines on this interval (30 s by default), so a 10 s header
        // timeout would otherwise hold a silent connection for up to 40 s.
        connectionsCheckingInterval: Math.min(1000, Math.ceil(timeouts.headersTimeoutMs / 4)),
      },
      dispatcher.handle,
    )
  }

  /** `reusePort` lets every handler thread listen on the same port; the kernel spreads connections. */
  listen(port: number, host: string, reusePort = false): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ port, host, reusePort }, () => {
        this.server.off('error', reject)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to `drainMs`), then closes
   * what is left. Idle keep-alive connections are closed at once so clients reconnect elsewhere.
   */
  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    const deadline = Date.now() + drainMs
    while (this.inFlight() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      this.server.closeIdleConnections()
    }
    this.server.closeAllConnections()
    await closed
  }

  private inFlight(): number {
    const stats = this.registry.stats()
    return stats.active_requests + stats.draining_requests
  }
}
