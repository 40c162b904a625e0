import { type Db, ListenConnection } from '../../store/index.ts'
import {
  EVENTS_CHANNEL,
  type EventFilter,
  type EventRow,
  eventBounds,
  matches,
  readEventPage,
} from './sql.ts'

/** How many recent events the feed keeps in memory for subscribers that are caught up. */
const RING_SIZE = 20_000
const PAGE = 1000

export interface Subscription {
  /** Everything relevant up to here was delivered: what a heartbeat carries. */
  readonly cursor: number
  close(): void
}

export interface SubscribeOptions {
  /** Deliver events after this id. */
  after: number
  /** Pushed into the SQL of catch-up reads. */
  filter: EventFilter
  /** What the subscriber may see beyond the SQL filter (scopes). */
  visible: (event: EventRow) => boolean
  /** Called with each batch in id order; the next batch waits for it (backpressure). */
  deliver: (events: EventRow[]) => Promise<void>
  onError: (error: unknown) => void
  /** The feed is stopping (the server shuts down): end the stream. */
  onStop: () => void
}

interface Subscriber extends SubscribeOptions {
  cursor: number
  pumping: boolean
  again: boolean
  closed: boolean
}

/**
 * One process's reader of the event sequence, shared by its stream subscribers: it reads new rows
 * once per wake-up (a local write, or on PostgreSQL a NOTIFY from any process's write) into a
 * ring of recent events, and each subscriber takes what follows its own cursor, from the ring when
 * it is caught up, from the table when it is behind (a resume from an old cursor). A wake-up is
 * only a hint to read: the table, in id order, is what is delivered, so a lost notice costs
 * latency (the poll covers it), never an event.
 */
export class EventFeed {
  private readonly db: Db
  private readonly subscribers = new Set<Subscriber>()
  private readonly listen: ListenConnection | null
  private ring: EventRow[] = []
  /** The ring holds every event with base < id <= head. */
  private base = 0
  private head = 0
  private reading: Promise<void> | null = null
  private again = false
  private started: Promise<void> | null = null
  private poll: NodeJS.Timeout | null = null
  private readonly onError: (error: unknown) => void

  constructor(db: Db, options: { pollMs?: number; onError?: (error: unknown) => void } = {}) {
    this.db = db
    this.onError = options.onError ?? ((error) => console.error('edgeforge event feed:', error))
    const url = db.dialect === 'postgres' && 'url' in db && typeof db.url === 'string' ? db.url : null
    this.listen = url
      ? new ListenConnection(url, EVENTS_CHANNEL, {
          onNotice: () => this.wake(),
          onListening: () => this.wake(),
        })
      : null
    this.pollMs = options.pollMs ?? 1000
  }

  private readonly pollMs: number

  /** Reads where the sequence is, starts listening; subscribe waits for it. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const { head } = await eventBounds(this.db)
      this.head = head
      this.base = head
      this.listen?.open()
      this.poll = setInterval(() => this.wake(), this.pollMs)
      this.poll.unref()
    })()
    return this.started
  }

  /** True once LISTEN is in place (always on SQLite, where every write is this process's). */
  get listening(): boolean {
    return this.listen === null || this.listen.listening
  }

  /** The newest id this process has read. */
  get current(): number {
    return this.head
  }

  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll)
    for (const subscriber of this.subscribers) {
      subscriber.closed = true
      subscriber.onStop()
    }
    this.subscribers.clear()
    await this.listen?.close()
  }

  /** Something was written: read it and hand it on. */
  wake(): void {
    void this.catchUp()
  }

  /** Resolves once the feed has read everything committed before the call. */
  private catchUp(): Promise<void> {
    if (!this.started) return Promise.resolve()
    if (this.reading) {
      this.again = true
      return this.reading
    }
    const reading: Promise<void> = this.readNew().finally(() => {
      if (this.reading === reading) this.reading = null
    })
    this.reading = reading
    return reading
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.start()
    // Another process may have written since our last wake-up: read up to now before delivering,
    // so a resume delivers everything up to the store's head before it goes idle.
    await this.catchUp()
    const subscriber: Subscriber = {
      ...options,
      cursor: options.after,
      pumping: false,
      again: false,
      closed: false,
    }
    this.subscribers.add(subscriber)
    this.pump(subscriber)
    return {
      get cursor() {
        return subscriber.cursor
      },
      close: () => {
        subscriber.closed = true
        this.subscribers.delete(subscriber)
      },
    }
  }

  private async readNew(): Promise<void> {
    try {
      do {
        this.again = false
        for (;;) {
          const page = await readEventPage(this.db, this.head, PAGE)
          const rows = page.events
          if (rows.length > 0) {
            for (const row of rows) this.ring.push(row)
            this.head = rows[rows.length - 1].id
            if (this.ring.length > RING_SIZE) {
              const dropped = this.ring.splice(0, this.ring.length - RING_SIZE)
              this.base = dropped[dropped.length - 1].id
            }
          }
          if (page.complete || rows.length === 0) break
        }
        for (const subscriber of this.subscribers) this.pump(subscriber)
      } while (this.again)
    } catch (error) {
      this.onError(error)
    }
  }

  private pump(subscriber: Subscriber): void {
    if (subscriber.pumping) {
      subscriber.again = true
      return
    }
    subscriber.pumping = true
    void this.drain(subscriber)
      .catch((error) => {
        subscriber.closed = true
        this.subscribers.delete(subscriber)
        subscriber.onError(error)
      })
      .finally(() => {
        subscriber.pumping = false
      })
  }

  private async drain(subscriber: Subscriber): Promise<void> {
    do {
      subscriber.again = false
      while (!subscriber.closed && subscriber.cursor < this.head) {
        const head = this.head
        let batch: EventRow[]
        let reached: number
        if (subscriber.cursor >= this.base) {
          const from = this.indexAfter(subscriber.cursor)
          const slice = this.ring.slice(from, from + PAGE)
          reached = slice.length > 0 ? slice[slice.length - 1].id : head
          batch = slice.filter((event) => matches(event, subscriber.filter))
        } else {
          // Behind the ring: read the table from the cursor (what a resume from an old cursor does).
          const page = await readEventPage(this.db, subscriber.cursor, PAGE, subscriber.filter)
          batch = page.events
          // The whole table read: every matching event up to `head` (committed before we read) is here.
          reached = page.complete ? Math.max(head, page.through) : page.through
        }
        const visible = batch.filter(subscriber.visible)
        if (visible.length > 0) await subscriber.deliver(visible)
        if (subscriber.closed) return
        subscriber.cursor = Math.max(subscriber.cursor, reached)
      }
    } while (subscriber.again && !subscriber.closed)
  }

  /** Index in the ring of the first event with id > cursor. */
  private indexAfter(cursor: number): number {
    let low = 0
    let high = this.ring.length
    while (low < high) {
      const mid = (low + high) >> 1
      if (this.ring[mid].id <= cursor) low = mid + 1
      else high = mid
    }
    return low
  }
}
