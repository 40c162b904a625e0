import { EventEmitter } from 'node:events'
import pg from 'pg'
import type { Db } from '../store/index.ts'

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
 * reconnects with a growing delay when it drops; the runners' poll covers the gap.
 */
export class PostgresNotifier extends LocalNotifier {
  private readonly url: string
  private client: pg.Client | null = null
  private connecting = false
  private closed = false
  private retryDelayMs = 100
  private retryTimer: NodeJS.Timeout | null = null

  constructor(url: string) {
    super()
    this.url = url
  }

  protected override onSubscribe(): void {
    if (!this.client && !this.connecting && !this.closed) void this.connect()
  }

  /** True once LISTEN is in place: tests wait for it before relying on cross-process wake-ups. */
  get listening(): boolean {
    return this.client !== null
  }

  private async connect(): Promise<void> {
    this.connecting = true
    const client = new pg.Client({ connectionString: this.url })
    const lost = () => {
      if (this.client === client) this.client = null
      client.removeAllListeners('notification')
      client.end().catch(() => {})
      this.scheduleReconnect()
    }
    client.on('error', lost)
    client.on('end', () => {
      if (this.client === client) lost()
    })
    client.on('notification', (message: { channel: string; payload?: string }) => {
      if (message.channel === JOBS_CHANNEL && message.payload) this.events.emit('wake', message.payload, 0)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${JOBS_CHANNEL}`)
      if (this.closed) {
        await client.end()
        return
      }
      this.client = client
      this.retryDelayMs = 100
      // Anything enqueued while we were not listening is found by the next claim.
      this.events.emit('wake', '*', 0)
    } catch {
      client.removeAllListeners()
      client.on('error', () => {})
      client.end().catch(() => {})
      this.scheduleReconnect()
    } finally {
      this.connecting = false
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.client && !this.connecting) void this.connect()
    }, this.retryDelayMs)
    this.retryTimer.unref()
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000)
  }

  override async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    const client = this.client
    this.client = null
    await super.close()
    if (client) {
      client.removeAllListeners('end')
      await client.end().catch(() => {})
    }
  }
}

/** The notifier that fits the database: LISTEN/NOTIFY on PostgreSQL, in-process otherwise. */
export function createNotifier(db: Db): Notifier {
  if (db.dialect === 'postgres' && 'url' in db && typeof db.url === 'string')
    return new PostgresNotifier(db.url)
  return new LocalNotifier()
}
