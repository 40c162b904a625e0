import { Redis } from 'ioredis'
import { ACTOR_FIELDS, bool, int, isSocketError, type ServiceKind, str } from '../kind.ts'
import { amount, cacheKey, cacheValue, ttlOf } from './memory.ts'

/**
 * `redis`: one ioredis connection per pooled connection, each running up to 32 commands at once. ioredis's own reconnecting and offline
 * queue are switched off: the actor owns reconnection and queueing, so a down Redis answers 503
 * at once instead of buffering commands in memory.
 */
export const redisKind: ServiceKind<Redis> = {
  type: 'redis',
  family: 'cache',
  defaultPoolSize: 4,
  // Redis answers in order on one connection, and ioredis pipelines what is sent while it
  // waits: one connection carries many operations at once, as a bare ioredis client does.
  operationsPerConnection: 32,
  fields: [
    { name: 'host', type: 'string', required: true, help: 'Server host name or address' },
    { name: 'port', type: 'integer', default: 6379, min: 1, max: 65535, help: 'Server port' },
    { name: 'database', type: 'integer', default: 0, min: 0, max: 15, help: 'Database number' },
    { name: 'username', type: 'string', help: 'ACL user (Redis 6+)' },
    { name: 'password', type: 'string', secret: true, help: 'Password (write-only)' },
    { name: 'use_tls', type: 'boolean', default: false, help: 'Connect over TLS' },
    { name: 'connect_timeout_ms', type: 'integer', default: 5000, min: 1, help: 'Time to connect' },
    ...ACTOR_FIELDS,
  ],
  connector(service, config) {
    return {
      async connect() {
        const client = new Redis({
          host: str(config, 'host'),
          port: int(config, 'port'),
          db: int(config, 'database'),
          username: config.username === undefined ? undefined : str(config, 'username'),
          password: config.password === undefined ? undefined : str(config, 'password'),
          tls: bool(config, 'use_tls') ? {} : undefined,
          connectTimeout: int(config, 'connect_timeout_ms'),
          // Operators see which service a connection belongs to in CLIENT LIST.
          connectionName: `edgeforge:${service}`,
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        })
        // Errors also arrive as rejected commands; the listener keeps them from crashing the
        // process and keeps the reason, which connect() reports only as "Connection is closed".
        let reason: Error | undefined
        client.on('error', (error: Error) => {
          reason = error
        })
        try {
          await client.connect()
        } catch (error) {
          client.disconnect()
          throw reason ?? error
        }
        return client
      },
      async close(client) {
        client.disconnect()
      },
      isConnectionError: (error) =>
        isSocketError(error) ||
        /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/.test(
          (error as Error)?.message ?? '',
        ),
      isAlive: (client) => client.status === 'ready',
    }
  },
  operations: corkedOperations({
    get: (client, [key]) => client.get(cacheKey(key)),
    set: async (client, [key, value, ttl]) => {
      const seconds = ttlOf(ttl)
      if (seconds === null) await client.set(cacheKey(key), cacheValue(value))
      else await client.set(cacheKey(key), cacheValue(value), 'EX', seconds)
    },
    delete: async (client, [key]) => (await client.del(cacheKey(key))) > 0,
    exists: async (client, [key]) => (await client.exists(cacheKey(key))) > 0,
    incr: (client, [key, by]) => client.incrby(cacheKey(key), amount(by)),
    decr: (client, [key, by]) => client.decrby(cacheKey(key), amount(by)),
    expire: async (client, [key, ttl]) => (await client.expire(cacheKey(key), Number(ttlOf(ttl)))) === 1,
    ttl: (client, [key]) => client.ttl(cacheKey(key)),
  }),
  async ping(client) {
    await client.ping()
  },
}

type Operation = (client: Redis, args: readonly unknown[]) => Promise<unknown>

/**
 * Each operation first corks its connection's socket until the current run of callbacks and
 * microtasks is over (process.nextTick): the commands of one turn's batch of calls (threads/
 * wire.ts) that share a connection leave in one write instead of one write (and one syscall,
 * and one wake-up of Redis) each. The commands are in ioredis's queue at once either way; only
 * the bytes wait, and for no longer than the turn.
 */
function corkedOperations(operations: Record<string, Operation>): Record<string, Operation> {
  const wrapped: Record<string, Operation> = {}
  for (const [name, operation] of Object.entries(operations))
    wrapped[name] = (client, args) => {
      cork(client)
      return operation(client, args)
    }
  return wrapped
}

const corked = new WeakSet<object>()

function cork(client: Redis): void {
  const stream = client.stream
  if (stream === undefined || corked.has(stream)) return
  corked.add(stream)
  stream.cork()
  process.nextTick(uncork, stream)
}

function uncork(stream: Redis['stream']): void {
  corked.delete(stream)
  stream.uncork()
}
