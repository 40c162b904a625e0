import { EventEmitter } from 'node:events'
import { type Db, ListenConnection } from '../../store/index.ts'

/** The PostgreSQL channel enqueues notify with the queue name as payload. */
export const JOBS_CHANNEL = 'edgeforge_jobs'

export type WakeListener = (queue: string, runAt: number) => void

/**
 * Tells idle runners that a queue has work, so they claim at once instead of waiting for their
 * poll. Runners keep a slow poll anyway: a wake-up is a hint, and a lost one only costs latency.
 */
export interface Notifier {
  /** Called by the engine after a commit that made a job claimable at `runAt`. */
  wake(queue: string, runAt: number): void
  /** Returns the unsubscribe function. */
  subscribe(listener: WakeListener): () => void
  close(): Promise<void>
}

/** Wake-ups within this process. */
export class LocalNotifier implements Notifier {
  protected readonly events = new EventEmitter()

  constructor() {
    this.events.setMaxListeners(0)
  }

  wake(queue: string, runAt: number): void {
    this.events.emit('wake', queue, runAt)
  }

  subscribe(listener: WakeListener): () => void {
    this.events.on('wake', listener)
    this.onSubscribe()
    return () => {
      this.events.off('wake', listener)
    }
  }

  protected onSubscribe(): void {}

  async close(): Promise<void> {
    this.events.removeAllListeners()
  }
}

/**
 * Local wake-ups plus one long-lived LISTEN connection for the enqueues of other processes (the
 * engine's PostgreSQL enqueue statements `pg_notify` in the same transaction, so the notice
 * arrives only once the job is visible). The connection opens with the first subscriber and
 * reconnects when it drops; the runners' poll covers the gap.
 */
export class PostgresNotifier extends LocalNotifier {
  private readonly connection: ListenConnection

  constructor(url: string) {
    super()
    this.connection = new ListenConnection(url, JOBS_CHANNEL, {
      onNotice: (queue) => this.events.emit('wake', queue, 0),
      // Anything enqueued while we were not listening is found by the next claim.
      onListening: () => this.events.emit('wake', '*', 0),
    })
  }

  protected override onSubscribe(): void {
    this.connection.open()
  }

  /** True once LISTEN is in place: tests wait for it before relying on cross-process wake-ups. */
  get listening(): boolean {
    return this.connection.listening
  }

  override async close(): Promise<void> {
    await this.connection.close()
    await super.close()
  }
}

/** The notifier that fits the database: LISTEN/NOTIFY on PostgreSQL, in-process otherwise. */
export function createNotifier(db: Db): Notifier {
  if (db.dialect === 'postgres' && 'url' in db && typeof db.url === 'string')
    return new PostgresNotifier(db.url)
  return new LocalNotifier()
}
