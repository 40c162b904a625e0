import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { finished, PassThrough, type Readable } from 'node:stream'
import { type ActorObserver, type ActorStatus, type Lease, ServiceActor } from './actor.ts'
import { STREAM_CHUNK_BYTES } from './caller.ts'
import { serviceUnavailable } from './errors.ts'
import {
  int,
  type KindEnvironment,
  type ObjectStream,
  type ObjectStreams,
  type ResolvedConfig,
  type ServiceKind,
} from './kind.ts'

/** A streamed transfer a caller behind the seam drives one message at a time (see `streamOp`). */
type Transfer =
  | {
      direction: 'put'
      source: PassThrough
      done: Promise<{ size: number }>
      idle: NodeJS.Timeout
      /** Why the upload failed, once it has: the next write answers it at once. */
      error?: unknown
    }
  | { direction: 'get'; body: Readable; chunks: AsyncIterator<Buffer>; idle: NodeJS.Timeout }

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
  private readonly transfers = new Map<string, Transfer>()

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
    if (op.startsWith('stream.')) return this.streamOp(op, args)
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

  /**
   * Streamed objects for callers behind the seam (handler and job threads), a chunk per message:
   * `stream.put.begin(key, type)` → id, `stream.put.write(id, bytes)` (answers when the backend
   * took it: backpressure), `stream.put.end(id)` → { size }, `stream.put.abort(id)`;
   * `stream.get.begin(key)` → { id, contentType, size } or null, `stream.get.read(id)` → up to
   * STREAM_CHUNK_BYTES or null at the end, `stream.get.cancel(id)`. A transfer left idle longer
   * than the operation timeout is aborted and its connection returned.
   */
  private async streamOp(op: string, args: readonly unknown[]): Promise<unknown> {
    if (op === 'stream.put.begin') {
      const [key, contentType] = args
      if (typeof key !== 'string') throw new TypeError('an object key must be a string')
      const source = new PassThrough({ highWaterMark: STREAM_CHUNK_BYTES })
      const done = this.upload(
        key,
        source,
        typeof contentType === 'string' ? contentType : 'application/octet-stream',
      )
      const id = randomUUID()
      const transfer: Transfer = { direction: 'put', source, done, idle: this.transferTimer(id) }
      done.catch((error: unknown) => {
        transfer.error = error
      })
      this.transfers.set(id, transfer)
      return id
    }
    if (op === 'stream.get.begin') {
      const [key] = args
      if (typeof key !== 'string') throw new TypeError('an object key must be a string')
      const object = await this.download(key)
      if (!object) return null
      const id = randomUUID()
      this.transfers.set(id, {
        direction: 'get',
        body: object.body,
        chunks: object.body[Symbol.asyncIterator](),
        idle: this.transferTimer(id),
      })
      return { id, contentType: object.contentType, size: object.size }
    }
    const [id, bytes] = args
    const transfer = typeof id === 'string' ? this.transfers.get(id) : undefined
    if (!transfer)
      throw serviceUnavailable(this.name, new Error('the transfer ended (idle too long or deactivated)'))
    clearTimeout(transfer.idle)
    transfer.idle = this.transferTimer(id as string)
    if (transfer.direction === 'put') {
      if (op === 'stream.put.write') {
        if (!(bytes instanceof Uint8Array)) throw new TypeError('a chunk must be bytes')
        if (transfer.error !== undefined) {
          this.forget(id as string)
          throw transfer.error
        }
        if (!transfer.source.write(bytes)) await Promise.race([once(transfer.source, 'drain'), transfer.done])
        return null
      }
      if (op === 'stream.put.end') {
        this.forget(id as string)
        transfer.source.end()
        return transfer.done
      }
      if (op === 'stream.put.abort') {
        this.endTransfer(id as string)
        return null
      }
    } else {
      if (op === 'stream.get.read') {
        const parts: Buffer[] = []
        let size = 0
        while (size < STREAM_CHUNK_BYTES) {
          const next = await transfer.chunks.next()
          if (next.done) break
          parts.push(next.value)
          size += next.value.byteLength
        }
        if (parts.length === 0) {
          this.forget(id as string)
          return null
        }
        return Buffer.concat(parts, size)
      }
      if (op === 'stream.get.cancel') {
        this.endTransfer(id as string)
        return null
      }
    }
    throw new TypeError(`no operation "${op}"`)
  }

  private forget(id: string): void {
    const transfer = this.transfers.get(id)
    if (transfer) clearTimeout(transfer.idle)
    this.transfers.delete(id)
  }

  /** Aborts a transfer: an upload's half-written object is never put in place; a download's stream is closed. */
  private endTransfer(id: string): void {
    const transfer = this.transfers.get(id)
    if (!transfer) return
    this.forget(id)
    if (transfer.direction === 'put') transfer.source.destroy(new Error('the upload was abandoned'))
    else transfer.body.destroy()
  }

  private transferTimer(id: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.endTransfer(id), this.idleTxMs)
    timer.unref()
    return timer
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
    for (const id of [...this.transfers.keys()]) this.endTransfer(id)
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
