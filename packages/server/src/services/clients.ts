import type {
  CacheClient,
  DatabaseClient,
  EmailClient,
  EmailMessage,
  ExecuteResult,
  FileEntry,
  FilesClient,
  ObjectInfo,
  Row,
  ServiceAccess,
  SqlParam,
  SqlRunner,
  StorageClient,
  StoredObject,
} from '@edgeforge/sdk'
import type { CallTarget, ServiceCaller } from './caller.ts'
import type { ServiceFamily } from './kind.ts'

/** An endpoint's bindings: the name a handler uses → the service's name. */
export type Bindings = Readonly<Record<string, string>>

/**
 * The handler side of services: `ctx.database(name)` and its siblings over a ServiceCaller.
 * Nothing here holds a connection; each method is one call through the seam.
 */
export class EndpointServices implements ServiceAccess {
  private readonly caller: ServiceCaller
  private readonly bindings: Bindings

  constructor(caller: ServiceCaller, bindings: Bindings) {
    this.caller = caller
    this.bindings = bindings
  }

  database(name: string): DatabaseClient {
    return databaseClient(this.send(this.target('database', name)))
  }

  cache(name: string): CacheClient {
    const send = this.send(this.target('cache', name))
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

  storage(name: string): StorageClient {
    const send = this.send(this.target('storage', name))
    return {
      put: async (key, body, options) => {
        await send('put', [key, await toBytes(body), options?.contentType ?? null])
      },
      get: (key) => send('get', [key]) as Promise<StoredObject | null>,
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

  files(name: string): FilesClient {
    const send = this.send(this.target('files', name))
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

  email(name: string): EmailClient {
    const send = this.send(this.target('email', name))
    return {
      send: (message: EmailMessage) =>
        send('send', [message]) as Promise<{ messageId: string; accepted: string[]; rejected: string[] }>,
    }
  }

  /** The binding names, for messages. */
  names(): string[] {
    return Object.keys(this.bindings)
  }

  private target(family: ServiceFamily, binding: string): CallTarget {
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

  private send(target: CallTarget) {
    return (op: string, args: readonly unknown[]) => this.caller.call(target, op, args)
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
