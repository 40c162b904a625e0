import { randomBytes } from 'node:crypto'
import type { Logger } from '../observability/logger.ts'
import { type Db, ListenConnection } from '../store/index.ts'

/** The PostgreSQL channel service changes are announced on: `<origin> <service id>`. */
export const SERVICES_CHANNEL = 'edgeforge_services'

/** What the sync drives: the service manager's reconcilers. */
export interface ServiceReconciler {
  /** Makes this process's actor for the service match its stored record (started, restarted or stopped). */
  reconcile(id: string): Promise<void>
  /** The same for every stored service, and stops actors whose record is gone. */
  reconcileAll(): Promise<void>
}

/**
 * Keeps the active services of the gateway processes that share one PostgreSQL database the
 * same. A process that creates, updates, renames, activates, deactivates or deletes a service
 * announces its id with NOTIFY once the change is stored; every other process reconciles that
 * service from the store. After (re)connecting, a process reconciles every service, so a notice
 * missed while the connection was down is caught up (as deploy/sync.ts does for endpoints).
 */
export class ServiceSync {
  /** Tells this process's own notices from the others'. */
  private readonly origin = randomBytes(8).toString('hex')
  private readonly db: Db
  private readonly reconciler: () => ServiceReconciler
  private readonly logger: Logger
  private readonly connection: ListenConnection

  constructor(url: string, db: Db, reconciler: () => ServiceReconciler, logger: Logger) {
    this.db = db
    this.reconciler = reconciler
    this.logger = logger
    this.connection = new ListenConnection(url, SERVICES_CHANNEL, {
      onNotice: (payload) => this.received(payload),
      onListening: () => {
        this.reconciler()
          .reconcileAll()
          .catch((error: unknown) =>
            this.logger.error({ err: error }, 'could not catch up with service changes'),
          )
      },
    })
  }

  open(): void {
    this.connection.open()
  }

  /** For `ServiceManager`'s `announce`: a lost notice is caught up by the next reconnect's full pass. */
  readonly announce = (serviceId: string): void => {
    this.db
      .run('SELECT pg_notify(?, ?)', [SERVICES_CHANNEL, `${this.origin} ${serviceId}`])
      .catch((error: unknown) =>
        this.logger.warn({ err: error, serviceId }, 'could not announce a service change'),
      )
  }

  private received(payload: string): void {
    const [origin, serviceId] = payload.split(' ')
    if (origin === this.origin || !serviceId) return
    this.reconciler()
      .reconcile(serviceId)
      .catch((error: unknown) =>
        this.logger.error({ err: error, serviceId }, 'could not follow a service change'),
      )
  }

  close(): Promise<void> {
    return this.connection.close()
  }
}
