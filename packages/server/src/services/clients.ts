import type {
  CacheClient,
  DatabaseClient,
  EmailClient,
  EmailMessage,
  ExecuteResult,
  FileEntry,
  FilesClient,
  ObjectInfo,
  RecordsClient,
  Row,
  ServiceAccess,
  SqlParam,
  SqlRunner,
  StorageClient,
  StoredObject,
  StoredRecord,
} from '@edgeforge/sdk'
import { type CallTarget, type ServiceCaller, STREAM_CHUNK_BYTES } from './caller.ts'
import type { ServiceFamily } from './kind.ts'

/** An endpoint's bindings: the name a handler uses → the service's name. */
export type Bindings = Readonly<Record<string, string>>

/** Told of every failed call (for the endpoint's log); the error still reaches the handler. */
export type ServiceErrorHook = (
  target: CallTarget,
  op: string,
  error: unknown,
  requestId: string | undefined,
) => void

/**
 * The handler side of services: `ctx.database(name)` and its siblings over a ServiceCaller.
 * Nothing here holds a connection; each method is one call through the seam.
 */
export class BoundServices implements ServiceAccess {
  private readonly caller: ServiceCaller
  private readonly bindings: Bindings
  private readonly onError: ServiceErrorHook | undefined

  constructor(caller: ServiceCaller, bindings: Bindings, onError?: ServiceErrorHook) {
    this.caller = caller
    this.bindings = bindings
    this.onError = onError
  }

  database(name: string, requestId?: string): DatabaseClient {
    return databaseClient(this.send(this.target('database', name), requestId))
  }

  cache(name: string, requestId?: string): CacheClient {
    const send = this.send(this.target('cache', name), requestId)
    return {
      get: (key) => send('get', [key]) as Promise<string | null>,
      set: async (key, value, options) => {
        await send('set', [key, value, options?.ttlSeconds ?? null])
      },
      delete: (key) => send('delete', [key]) as Promise<boolean>,
      exists: (key) => send('exists', [key]) as Promise<boolean>,
      incr: (key, by = 1) => send('incr', [key, by]) as Promise<number>,
      decr: (key, by = 1) => send('decr', [key, by]) as Promise<number>,
      expire: (key, ttlSeconds) => send('expire', [key, ttlSeconds]) as Promise<boolean>,
      ttl: (key) => send('ttl', [key]) as Promise<number>,
    }
  }

  storage(name: string, requestId?: string): StorageClient {
    const send = this.send(this.target('storage', name), requestId)
    return {
      put: async (key, body, options) => {
        if (typeof body === 'string' || body instanceof Uint8Array) {
          await send('put', [
            key,
            typeof body === 'string' ? Buffer.from(body) : body,
            options?.contentType ?? null,
          ])
          return
        }
        // A stream goes a chunk per message; each answers when the backend took it (backpressure).
        const id = (await send('stream.put.begin', [key, options?.contentType ?? null])) as string
        try {
          for await (const chunk of body)
            for (let at = 0; at < chunk.byteLength; at += STREAM_CHUNK_BYTES)
              await send('stream.put.write', [id, chunk.subarray(at, at + STREAM_CHUNK_BYTES)])
        } catch (error) {
          await send('stream.put.abort', [id]).catch(() => {})
          throw error
        }
        await send('stream.put.end', [id])
      },
      get: (key) => send('get', [key]) as Promise<StoredObject | null>,
      getStream: async (key) => {
        const meta = (await send('stream.get.begin', [key])) as {
          id: string
          contentType: string
          size: number
        } | null
        if (!meta) return null
        async function* chunks(): AsyncGenerator<Uint8Array> {
          let ended = false
          try {
            for (;;) {
              const chunk = (await send('stream.get.read', [meta!.id])) as Uint8Array | null
              if (chunk === null) {
                ended = true
                return
              }
              yield chunk
            }
          } finally {
            // A reader that stops early (break, throw) gives the connection back at once.
            if (!ended) await send('stream.get.cancel', [meta!.id]).catch(() => {})
          }
        }
        return { body: chunks(), contentType: meta.contentType, size: meta.size }
      },
      head: (key) => send('head', [key]) as Promise<Omit<StoredObject, 'body'> | null>,
      list: (prefix = '', options) =>
        send('list', [prefix, options?.limit ?? 1000, options?.continuationToken ?? null]) as Promise<{
          objects: ObjectInfo[]
          continuationToken: string | null
        }>,
      delete: (key) => send('delete', [key]) as Promise<boolean>,
      presignedUrl: (key, seconds) => send('presignedUrl', [key, seconds]) as Promise<string>,
    }
  }

  files(name: string, requestId?: string): FilesClient {
    const send = this.send(this.target('files', name), requestId)
    return {
      put: async (path, body) => {
        await send('put', [path, await toBytes(body)])
      },
      get: (path) => send('get', [path]) as Promise<Uint8Array>,
      list: (path = '.') => send('list', [path]) as Promise<FileEntry[]>,
      delete: (path) => send('delete', [path]) as Promise<boolean>,
      mkdir: async (path) => {
        await send('mkdir', [path])
      },
    }
  }

  email(name: string, requestId?: string): EmailClient {
    const send = this.send(this.target('email', name), requestId)
    return {
      send: (message: EmailMessage) =>
        send('send', [message]) as Promise<{ messageId: string; accepted: string[]; rejected: string[] }>,
    }
  }

  records(name: string, collection: string, requestId?: string): RecordsClient {
    const send = this.send(this.target('records', name), requestId)
    return {
      get: (id) => send('get', [collection, id]) as Promise<StoredRecord | null>,
      list: (filter) => send('list', [collection, filter ?? null]) as Promise<StoredRecord[]>,
      create: (id, record) => send('create', [collection, id, record]) as Promise<StoredRecord>,
      update: (id, record) => send('update', [collection, id, record]) as Promise<boolean>,
      delete: (id) => send('delete', [collection, id]) as Promise<boolean>,
    }
  }

  /** The binding names, for messages. */
  names(): string[] {
    return Object.keys(this.bindings)
  }

  private target(family: ServiceFamily | 'records', binding: string): CallTarget {
    const service = Object.hasOwn(this.bindings, binding) ? this.bindings[binding] : undefined
    if (service === undefined) {
      const names = this.names()
      const list = names.length > 0 ? names.map((n) => `"${n}"`).join(', ') : 'none'
      throw new Error(
        `ctx.${family}("${binding}"): this endpoint binds no service by that name; its bindings: ${list}`,
      )
    }
    return { service, family, binding }
  }

  private send(target: CallTarget, requestId: string | undefined) {
    const onError = this.onError
    if (!onError) return (op: string, args: readonly unknown[]) => this.caller.call(target, op, args)
    return (op: string, args: readonly unknown[]) =>
      this.caller.call(target, op, args).catch((error: unknown) => {
        onError(target, op, error, requestId)
        throw error
      })
  }
}

function databaseClient(send: (op: string, args: readonly unknown[]) => Promise<unknown>): DatabaseClient {
  const runner = (prefix: string, txId: string | null): SqlRunner => {
    const head = txId === null ? [] : [txId]
    return {
      query: <T extends Row = Row>(sql: string, params: readonly SqlParam[] = []) =>
        send(`${prefix}query`, [...head, sql, params]) as Promise<T[]>,
      queryOne: <T extends Row = Row>(sql: string, params: readonly SqlParam[] = []) =>
        send(`${prefix}queryOne`, [...head, sql, params]) as Promise<T | null>,
      execute: (sql: string, params: readonly SqlParam[] = []) =>
        send(`${prefix}execute`, [...head, sql, params]) as Promise<ExecuteResult>,
    }
  }
  return {
    ...runner('', null),
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
      const txId = (await send('tx.begin', [])) as string
      let result: T
      try {
        result = await fn(runner('tx.', txId))
      } catch (error) {
        await send('tx.rollback', [txId]).catch(() => {})
        throw error
      }
      await send('tx.commit', [txId])
      return result
    },
  }
}

/** Streams are read to the end here, so what crosses the seam is one byte array. */
async function toBytes(body: Uint8Array | string | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof Uint8Array) return body
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks)
}
