import { randomBytes } from 'node:crypto'
import type { Logger } from '../observability/logger.ts'
import { type Db, ListenConnection } from '../store/index.ts'
import type { Lifecycle } from './lifecycle.ts'

/** The PostgreSQL channel endpoint changes are announced on: `<origin> <endpoint id>`. */
export const ENDPOINTS_CHANNEL = 'edgeforge_endpoints'

/**
 * Keeps the gateway processes that share one PostgreSQL database serving the same endpoints.
 * A process that starts, stops, swaps, re-routes or deletes an endpoint announces its id with
 * NOTIFY once the change is stored; every other process reconciles that endpoint from the store
 * (loading stored artifacts, never compiling). After (re)connecting, a process reconciles every
 * endpoint, so a notice missed while the connection was down is caught up.
 */
export class EndpointSync {
  /** Tells this process's own notices from the others'. */
  private readonly origin = randomBytes(8).toString('hex')
  private readonly db: Db
  private readonly lifecycle: () => Lifecycle
  private readonly logger: Logger
  private readonly connection: ListenConnection

  constructor(url: string, db: Db, lifecycle: () => Lifecycle, logger: Logger) {
    this.db = db
    this.lifecycle = lifecycle
    this.logger = logger
    this.connection = new ListenConnection(url, ENDPOINTS_CHANNEL, {
      onNotice: (payload) => this.received(payload),
      onListening: () => {
        this.lifecycle()
          .reconcileAll()
          .catch((error: unknown) =>
            this.logger.error({ err: error }, 'could not catch up with endpoint changes'),
          )
      },
    })
  }

  open(): void {
    this.connection.open()
  }

  /** For `LifecycleDeps.announce`: a lost notice is caught up by the next reconnect's full pass. */
  readonly announce = (endpointId: string): void => {
    this.db
      .run('SELECT pg_notify(?, ?)', [ENDPOINTS_CHANNEL, `${this.origin} ${endpointId}`])
      .catch((error: unknown) =>
        this.logger.warn({ err: error, endpointId }, 'could not announce an endpoint change'),
      )
  }

  private received(payload: string): void {
    const [origin, endpointId] = payload.split(' ')
    if (origin === this.origin || !endpointId) return
    this.lifecycle()
      .reconcile(endpointId)
      .catch((error: unknown) =>
        this.logger.error({ err: error, endpointId }, 'could not follow an endpoint change'),
      )
  }

  close(): Promise<void> {
    return this.connection.close()
  }
}
