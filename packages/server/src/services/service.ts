import { randomUUID } from 'node:crypto'
import { finished, type Readable } from 'node:stream'
import { type ActorObserver, type ActorStatus, type Lease, ServiceActor } from './actor.ts'
import { serviceUnavailable } from './errors.ts'
import {
  int,
  type KindEnvironment,
  type ObjectStream,
  type ObjectStreams,
  type ResolvedConfig,
  type ServiceKind,
} from './kind.ts'

/** Transaction operations a database service takes besides its kind's own. */
const TX_OPS = new Set(['tx.begin', 'tx.query', 'tx.queryOne', 'tx.execute', 'tx.commit', 'tx.rollback'])

/**
 * An active service: its kind's operations running on its actor. `invoke` is what the caller
 * seam reaches; transactions are operations too (`tx.begin` returns an id the later ones name),
 * so they work the same whether the caller is in this thread or behind a message channel.
 */
export class ActiveService {
  readonly id: string
  readonly name: string
  /** What the actor was started from (see runtime.ts `fingerprint`): a reconcile restarts it when the stored record differs. */
  readonly fingerprint: string
  readonly kind: ServiceKind
  readonly actor: ServiceActor<unknown>
  private readonly transactions = new Map<string, { lease: Lease<unknown>; idle: NodeJS.Timeout }>()
  private readonly idleTxMs: number

  constructor(
    record: { id: string; name: string; fingerprint?: string },
    kind: ServiceKind,
    config: ResolvedConfig,
    env: KindEnvironment,
    observer?: ActorObserver,
  ) {
    this.id = record.id
    this.name = record.name
    this.fingerprint = record.fingerprint ?? ''
    this.kind = kind
    const poolSize = config.pool_size === undefined ? kind.defaultPoolSize : int(config, 'pool_size')
    this.actor = new ServiceActor(
      kind.connector(record.name, config, env),
      {
        name: record.name,
        poolSize: Math.min(poolSize, kind.maxPoolSize ?? poolSize),
        maxQueue: int(config, 'max_queue'),
        operationTimeoutMs: int(config, 'operation_timeout_ms'),
        operationsPerConnection: kind.operationsPerConnection,
      },
      observer,
    )
    // A transaction whose caller went away must not hold a connection for ever.
    this.idleTxMs = int(config, 'operation_timeout_ms')
  }

  status(): ActorStatus {
    return this.actor.status()
  }

  async invoke(op: string, args: readonly unknown[]): Promise<unknown> {
    if (TX_OPS.has(op)) return this.transactionOp(op, args)
    const operation = this.kind.operations[op]
    if (!operation) throw new TypeError(`a ${this.kind.type} service has no operation "${op}"`)
    return this.actor.run((connection) => operation(connection, args))
  }

  /**
   * Streams `source` into the object `key`. The connection is held (a pool slot, queued like any
   * operation) until the last byte is written; the transfer has no operation timeout.
   */
  async upload(key: string, source: Readable, contentType: string): Promise<{ size: number }> {
    const streams = this.streams()
    const lease = await this.actor.lease()
    let broken = false
    try {
      return await lease.transfer((connection) => streams.write(connection, key, source, contentType))
    } catch (error) {
      broken = (error as { code?: string }).code === 'service_unavailable'
      throw error
    } finally {
      lease.release(broken)
    }
  }

  /**
   * Opens the object `key` as a stream (null when missing). The connection stays held until the
   * stream ends, fails or is destroyed (the client went away), so downloads count in the pool.
   */
  async download(key: string): Promise<ObjectStream | null> {
    const streams = this.streams()
    const lease = await this.actor.lease()
    let object: ObjectStream | null
    try {
      object = await lease.run((connection) => streams.read(connection, key))
    } catch (error) {
      lease.release((error as { code?: string }).code === 'service_unavailable')
      throw error
    }
    if (!object) {
      lease.release()
      return null
    }
    finished(object.body, () => lease.release())
    return object
  }

  private streams(): ObjectStreams<unknown> {
    if (!this.kind.streams) throw new TypeError(`a ${this.kind.type} service has no object streams`)
    return this.kind.streams
  }

  /** Connects (or reuses a connection) and runs the kind's ping. */
  async ping(): Promise<void> {
    await this.actor.run((connection) => this.kind.ping(connection))
  }

  async deactivate(): Promise<void> {
    for (const id of [...this.transactions.keys()]) await this.endTransaction(id, 'rollback').catch(() => {})
    await this.actor.deactivate()
  }

  private async transactionOp(op: string, args: readonly unknown[]): Promise<unknown> {
    const tx = this.kind.transactions
    if (!tx) throw new TypeError(`a ${this.kind.type} service has no transactions`)
    if (op === 'tx.begin') {
      const lease = await this.actor.lease()
      try {
        await lease.run((connection) => tx.begin(connection))
      } catch (error) {
        lease.release(true)
        throw error
      }
      const id = randomUUID()
      this.transactions.set(id, { lease, idle: this.idleTimer(id) })
      return id
    }
    const [id, ...rest] = args
    const held = typeof id === 'string' ? this.transactions.get(id) : undefined
    if (!held)
      throw serviceUnavailable(this.name, new Error('the transaction ended (idle too long or deactivated)'))
    if (op === 'tx.commit') return this.endTransaction(id as string, 'commit')
    if (op === 'tx.rollback') return this.endTransaction(id as string, 'rollback')
    const operation = this.kind.operations[op.slice(3)]
    if (!operation) throw new TypeError(`no operation "${op}"`)
    clearTimeout(held.idle)
    held.idle = this.idleTimer(id as string)
    return held.lease.run((connection) => operation(connection, rest))
  }

  private async endTransaction(id: string, how: 'commit' | 'rollback'): Promise<void> {
    const held = this.transactions.get(id)
    const tx = this.kind.transactions
    if (!held || !tx) return
    this.transactions.delete(id)
    clearTimeout(held.idle)
    try {
      await held.lease.run((connection) => tx[how](connection))
      held.lease.release()
    } catch (error) {
      // A connection whose COMMIT or ROLLBACK failed is in an unknown state: close it.
      held.lease.release(true)
      throw error
    }
  }

  private idleTimer(id: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      void this.endTransaction(id, 'rollback').catch(() => {})
    }, this.idleTxMs)
    timer.unref()
    return timer
  }
}
