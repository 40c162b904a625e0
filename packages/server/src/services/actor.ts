import type {
  ActorObserver,
  ActorOptions,
  ActorOutcome,
  ActorStatus,
  ConnectionFactory,
  Lease,
} from './actor-types.ts'
import { serviceBusy, serviceTimeout, serviceUnavailable } from './errors.ts'
import { type LeaseHost, makeLease, refusal } from './lease.ts'

export type {
  ActorObserver,
  ActorOptions,
  ActorOutcome,
  ActorStatus,
  ConnectionFactory,
  Lease,
} from './actor-types.ts'

interface Waiter<C> {
  grant(connection: C): void
  fail(error: Error): void
  /** In the queue (not yet granted or failed). */
  queued?: boolean
  /** Timed out while queued: skipped when its turn comes. */
  cancelled?: boolean
}

/** An operation's time limit in the actor's deadline list; `expire` is cleared once it is settled. */
interface Deadline {
  /** performance.now() when it runs out. */
  at: number
  expire: (() => void) | undefined
}

const FIRST_RETRY_MS = 100
const MAX_RETRY_MS = 5_000

/**
 * One active service: it owns a pool of connections, a bounded FIFO of operations waiting for
 * one, a per-operation timeout and the reconnection policy. Callers never touch a connection
 * outside an operation, so a slow or dead backend costs only the operations sent to it.
 *
 * Reconnection: connections are made on demand. A failed connect marks the backend down for a
 * backoff window (100 ms doubling to 5 s); operations in that window fail at once with
 * `service_unavailable` instead of piling up, and the first one after it tries again. A
 * connection whose operation failed with a connection error is closed and replaced.
 */
export class ServiceActor<C> {
  private readonly factory: ConnectionFactory<C>
  private readonly options: ActorOptions
  private readonly observer: ActorObserver | undefined
  /** Open connections and how many operations each runs now. */
  private readonly load = new Map<C, number>()
  /** The open connections with room for another operation (load below the sharing limit). */
  private readonly spare: C[] = []
  private readonly sharing: number
  private readonly waiters: Waiter<C>[] = []
  private waitersHead = 0
  /** Queued waiters that have not timed out. */
  private queuedCount = 0
  /** Connections open or being opened. */
  private total = 0
  /** Operations holding a connection (running, or granted one and about to run). */
  private inUse = 0
  private state: ActorStatus['state'] = 'active'
  private connected = false
  private lastError: string | null = null
  private downUntil = 0
  private retryMs = FIRST_RETRY_MS
  private drained: (() => void) | undefined
  /** What the leases this actor grants call back. */
  private readonly leaseHost: LeaseHost<C>
  /**
   * The running and queued operations' deadlines, oldest first: every operation gets the same
   * timeout, so the order they were added is the order they run out. One timer for the actor,
   * set for the oldest one that is not settled, instead of a timer per operation.
   */
  private readonly deadlines: Deadline[] = []
  private deadlinesHead = 0
  /** Deadlines not settled yet. */
  private deadlinesLive = 0
  private deadlineTimer: NodeJS.Timeout | undefined
  private readonly sweep = () => this.sweepDeadlines()

  constructor(factory: ConnectionFactory<C>, options: ActorOptions, observer?: ActorObserver) {
    if (!(options.poolSize >= 1)) throw new RangeError('poolSize must be at least 1')
    this.factory = factory
    this.options = options
    this.observer = observer
    this.sharing = Math.max(1, options.operationsPerConnection ?? 1)
    this.leaseHost = {
      name: options.name,
      operationTimeoutMs: options.operationTimeoutMs,
      observer,
      isConnectionError: (error) => factory.isConnectionError(error),
      noteFailure: (error) => this.noteFailure(error),
      giveBack: (connection, dead) => this.giveBack(connection, dead),
    }
  }

  get name(): string {
    return this.options.name
  }

  status(): ActorStatus {
    return {
      state: this.state,
      connected: this.connected,
      connections: this.total,
      inUse: this.inUse,
      queued: this.queuedCount,
      lastError: this.lastError,
    }
  }

  /** Runs one operation on a pooled connection. */
  run<T>(op: (connection: C) => Promise<T>): Promise<T> {
    const started = performance.now()
    return new Promise<T>((resolve, reject) => {
      let settled = false
      let running: C | undefined
      const finish = (outcome: ActorOutcome, error: Error | undefined, value?: T) => {
        if (settled) return
        settled = true
        this.unwatch(deadline)
        this.observer?.operation(outcome, (performance.now() - started) / 1000)
        if (error) reject(error)
        else resolve(value as T)
      }
      const deadline = this.watch(started, () => {
        this.cancel(waiter)
        if (running !== undefined) {
          // The operation may never come back (a black-holed socket): the connection is
          // given up so the pool does not shrink by one for every hung call.
          const connection = running
          running = undefined
          this.discard(connection)
        }
        finish('timeout', serviceTimeout(this.name, this.options.operationTimeoutMs))
      })
      const waiter: Waiter<C> = {
        grant: (connection) => {
          if (settled) {
            this.giveBack(connection, false)
            return
          }
          running = connection
          op(connection).then(
            (value) => {
              if (running !== connection) return
              running = undefined
              this.giveBack(connection, false)
              finish('ok', undefined, value)
            },
            (error: unknown) => {
              if (running !== connection) return
              running = undefined
              const dead = this.factory.isConnectionError(error)
              this.giveBack(connection, dead)
              if (dead) {
                this.noteFailure(error)
                finish('unavailable', serviceUnavailable(this.name, error))
              } else finish('error', refusal(this.name, error))
            },
          )
        },
        fail: (error) => finish(outcomeOf(error), error),
      }
      this.acquire(waiter)
    })
  }

  /** Holds one connection until `release`, for operations that must share it (a transaction). */
  lease(): Promise<Lease<C>> {
    if (this.sharing > 1)
      return Promise.reject(new TypeError('a connection shared by several operations cannot be leased'))
    const started = performance.now()
    return new Promise<Lease<C>>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        this.cancel(waiter)
        this.observer?.operation('timeout', (performance.now() - started) / 1000)
        reject(serviceTimeout(this.name, this.options.operationTimeoutMs))
      }, this.options.operationTimeoutMs)
      const waiter: Waiter<C> = {
        grant: (connection) => {
          if (settled) {
            this.giveBack(connection, false)
            return
          }
          settled = true
          clearTimeout(timer)
          resolve(makeLease(connection, this.leaseHost))
        },
        fail: (error) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          this.observer?.operation(outcomeOf(error), (performance.now() - started) / 1000)
          reject(error)
        },
      }
      this.acquire(waiter)
    })
  }

  /**
   * Stops taking operations; those already accepted (running or queued) finish, then every
   * connection is closed. Resolves when the pool is empty.
   */
  async deactivate(): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'draining'
    if (this.inUse > 0 || this.queuedCount > 0)
      await new Promise<void>((resolve) => {
        this.drained = resolve
      })
    this.state = 'closed'
    const open = [...this.load.keys()]
    this.load.clear()
    this.spare.length = 0
    this.total -= open.length
    await Promise.all(open.map((connection) => this.factory.close(connection).catch(() => {})))
  }

  /** Adds an operation's deadline (it started at `started`); `expire` runs if it is not unwatched by then. */
  private watch(started: number, expire: () => void): Deadline {
    const deadline: Deadline = { at: started + this.options.operationTimeoutMs, expire }
    this.deadlines.push(deadline)
    this.deadlinesLive += 1
    this.deadlineTimer ??= setTimeout(this.sweep, this.options.operationTimeoutMs)
    return deadline
  }

  /** A settled operation's deadline: forgotten (the list drops settled ones from its head). */
  private unwatch(deadline: Deadline): void {
    if (deadline.expire === undefined) return
    deadline.expire = undefined
    this.deadlinesLive -= 1
    const list = this.deadlines
    while (this.deadlinesHead < list.length && list[this.deadlinesHead].expire === undefined)
      this.deadlinesHead += 1
    if (this.deadlinesLive === 0) {
      list.length = 0
      this.deadlinesHead = 0
      clearTimeout(this.deadlineTimer)
      this.deadlineTimer = undefined
    } else this.compactDeadlines()
  }

  /** Runs out the deadlines that have passed, then sets the timer for the next one. */
  private sweepDeadlines(): void {
    this.deadlineTimer = undefined
    const list = this.deadlines
    const now = performance.now()
    while (this.deadlinesHead < list.length) {
      const deadline = list[this.deadlinesHead]
      const expire = deadline.expire
      if (expire !== undefined) {
        if (deadline.at > now) break
        deadline.expire = undefined
        this.deadlinesLive -= 1
      }
      this.deadlinesHead += 1
      expire?.()
    }
    if (this.deadlinesHead >= list.length) {
      list.length = 0
      this.deadlinesHead = 0
    } else {
      this.compactDeadlines()
      const next = list[this.deadlinesHead]
      this.deadlineTimer ??= setTimeout(this.sweep, Math.max(1, Math.ceil(next.at - now)))
    }
  }

  /**
   * Keeps the list near the number of operations in flight: the settled head is cut off, and when
   * one slow operation holds the head while most behind it are settled, those are dropped too.
   */
  private compactDeadlines(): void {
    const list = this.deadlines
    const held = list.length - this.deadlinesHead
    if (this.deadlinesHead > 1024 && this.deadlinesHead * 2 > list.length) {
      list.splice(0, this.deadlinesHead)
      this.deadlinesHead = 0
    } else if (held > 4096 && this.deadlinesLive * 2 < held) {
      let kept = 0
      for (let i = this.deadlinesHead; i < list.length; i++)
        if (list[i].expire !== undefined) list[kept++] = list[i]
      list.length = kept
      this.deadlinesHead = 0
    }
  }

  private acquire(waiter: Waiter<C>): void {
    if (this.state !== 'active') {
      waiter.fail(serviceUnavailable(this.name, new Error('the service is not active')))
      return
    }
    let connection = this.spare.at(-1)
    while (connection !== undefined && this.factory.isAlive && !this.factory.isAlive(connection)) {
      // Dropped while idle (the backend restarted): replace it rather than fail the caller. One
      // that still runs operations is closed when the last of them comes back.
      this.spare.pop()
      if (this.load.get(connection) === 0) this.drop(connection)
      connection = this.spare.at(-1)
    }
    if (connection !== undefined) {
      this.inUse += 1
      this.take(connection)
      waiter.grant(connection)
    } else if (this.total < this.options.poolSize) {
      if (Date.now() < this.downUntil) {
        waiter.fail(serviceUnavailable(this.name, new Error(this.lastError ?? 'backend down')))
        return
      }
      this.inUse += 1
      this.open(waiter)
    } else if (this.queuedCount >= this.options.maxQueue) {
      waiter.fail(serviceBusy(this.name, this.options.poolSize, this.options.maxQueue))
    } else {
      waiter.queued = true
      this.queuedCount += 1
      this.waiters.push(waiter)
    }
  }

  private open(waiter: Waiter<C>): void {
    this.total += 1
    this.factory.connect().then(
      (connection) => {
        this.connected = true
        this.lastError = null
        this.retryMs = FIRST_RETRY_MS
        this.load.set(connection, 0)
        this.spare.push(connection)
        this.take(connection)
        waiter.grant(connection)
        // Operations that queued while it was connecting share what room it has left.
        while (this.load.has(connection) && (this.load.get(connection) ?? 0) < this.sharing) {
          const next = this.shiftWaiter()
          if (!next) break
          this.inUse += 1
          this.take(connection)
          next.grant(connection)
        }
      },
      (error: unknown) => {
        this.total -= 1
        this.inUse -= 1
        this.noteFailure(error)
        this.downUntil = Date.now() + this.retryMs
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS)
        waiter.fail(serviceUnavailable(this.name, error))
        // Nobody else will free a connection for the queue when none is open: fail it too.
        if (this.total === 0) {
          for (let next = this.shiftWaiter(); next; next = this.shiftWaiter())
            next.fail(serviceUnavailable(this.name, error))
        }
        this.checkDrained()
      },
    )
  }

  /** One more operation on `connection`; full, it leaves the spare list. */
  private take(connection: C): void {
    const load = (this.load.get(connection) ?? 0) + 1
    this.load.set(connection, load)
    if (load >= this.sharing) {
      const at = this.spare.lastIndexOf(connection)
      if (at !== -1) this.spare.splice(at, 1)
    }
  }

  /** Hands an operation's slot to the next waiter, or frees it; `dead` closes the connection. */
  private giveBack(connection: C, dead: boolean): void {
    if (dead || !this.load.has(connection) || (this.factory.isAlive && !this.factory.isAlive(connection))) {
      this.discard(connection)
      return
    }
    const next = this.shiftWaiter()
    if (next) {
      next.grant(connection)
      return
    }
    this.inUse -= 1
    const load = (this.load.get(connection) ?? 1) - 1
    this.load.set(connection, load)
    if (load === this.sharing - 1) this.spare.push(connection)
    this.checkDrained()
  }

  /** An operation gives up its connection for good: closed (once, however many operations shared it), and a waiter gets a new one. */
  private discard(connection: C): void {
    this.inUse -= 1
    if (this.load.has(connection)) this.drop(connection)
    const next = this.total < this.options.poolSize ? this.shiftWaiter() : undefined
    if (next) {
      // A waiter would otherwise wait for a release that may never come.
      this.inUse += 1
      this.open(next)
    }
    this.checkDrained()
  }

  private drop(connection: C): void {
    this.load.delete(connection)
    const at = this.spare.lastIndexOf(connection)
    if (at !== -1) this.spare.splice(at, 1)
    this.total -= 1
    void this.factory.close(connection).catch(() => {})
  }

  private shiftWaiter(): Waiter<C> | undefined {
    while (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead]
      this.waitersHead += 1
      if (this.waitersHead > 1024 && this.waitersHead * 2 > this.waiters.length) {
        this.waiters.splice(0, this.waitersHead)
        this.waitersHead = 0
      }
      if (waiter.cancelled) continue
      waiter.queued = false
      this.queuedCount -= 1
      return waiter
    }
    return undefined
  }

  /** Takes a waiter whose time ran out out of the count; its slot is skipped later. */
  private cancel(waiter: Waiter<C>): void {
    if (!waiter.queued || waiter.cancelled) return
    waiter.cancelled = true
    this.queuedCount -= 1
    this.checkDrained()
  }

  private noteFailure(error: unknown): void {
    this.connected = false
    this.lastError = error instanceof Error ? error.message : String(error)
  }

  private checkDrained(): void {
    if (this.state === 'draining' && this.inUse === 0 && this.queuedCount === 0) {
      const drained = this.drained
      this.drained = undefined
      drained?.()
    }
  }
}

function outcomeOf(error: Error): ActorOutcome {
  const code = (error as { code?: string }).code
  if (code === 'service_busy') return 'busy'
  if (code === 'service_timeout') return 'timeout'
  return 'unavailable'
}
