import { ServiceError } from '@edgeforge/sdk'
import memjs from 'memjs'
import { ACTOR_FIELDS, int, type ServiceKind, str } from '../kind.ts'
import { amount, cacheKey, cacheValue, ttlOf } from './memory.ts'

type Client = memjs.Client

const PROBE_KEY = 'edgeforge:probe'

/**
 * `memcached` over the binary protocol (memjs). memcached has no TTL query: `ttl` answers -1 for
 * a key that exists and -2 for one that does not. `decr` stops at 0 (memcached's rule).
 */
export const memcachedKind: ServiceKind<Client> = {
  type: 'memcached',
  family: 'cache',
  defaultPoolSize: 4,
  fields: [
    { name: 'host', type: 'string', required: true, help: 'Server host name or address' },
    { name: 'port', type: 'integer', default: 11211, min: 1, max: 65535, help: 'Server port' },
    { name: 'username', type: 'string', help: 'SASL user, when the server asks for one' },
    { name: 'password', type: 'string', secret: true, help: 'SASL password (write-only)' },
    { name: 'connect_timeout_ms', type: 'integer', default: 5000, min: 1, help: 'Time to connect' },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    return {
      async connect() {
        const client = memjs.Client.create(`${str(config, 'host')}:${int(config, 'port')}`, {
          retries: 0,
          failover: false,
          timeout: int(config, 'connect_timeout_ms') / 1000,
          conntimeout: int(config, 'connect_timeout_ms') / 1000,
          username: config.username === undefined ? undefined : str(config, 'username'),
          password: config.password === undefined ? undefined : str(config, 'password'),
          logger: { log: () => {} },
        })
        try {
          // memjs connects on first use; a round trip proves the server answers.
          await client.get(PROBE_KEY)
        } catch (error) {
          client.close()
          throw error
        }
        return client
      },
      async close(client) {
        client.close()
      },
      isConnectionError: (error) =>
        /connection|ECONN|socket|timed out|No servers/i.test((error as Error)?.message ?? String(error)),
    }
  },
  operations: {
    get: async (client, [key]) => {
      const { value } = await client.get(cacheKey(key))
      return value === null ? null : value.toString('utf8')
    },
    set: async (client, [key, value, ttl]) => {
      const ok = await client.set(cacheKey(key), cacheValue(value), { expires: ttlOf(ttl) ?? 0 })
      if (!ok) throw new ServiceError('memcached', 'operation_failed', 'memcached did not store the value')
    },
    delete: (client, [key]) => client.delete(cacheKey(key)),
    exists: async (client, [key]) => (await client.get(cacheKey(key))).value !== null,
    incr: (client, [key, by]) => counter(client, cacheKey(key), amount(by)),
    decr: (client, [key, by]) => counter(client, cacheKey(key), -amount(by)),
    expire: (client, [key, ttl]) => client.touch(cacheKey(key), Number(ttlOf(ttl))),
    ttl: async (client, [key]) => ((await client.get(cacheKey(key))).value === null ? -2 : -1),
  },
  async ping(client) {
    await client.get(PROBE_KEY)
  },
}

/** memcached counts up with `increment` and down with `decrement`; a missing key starts at 0. */
async function counter(client: Client, key: string, by: number): Promise<number> {
  const initial = Math.max(0, by)
  const result =
    by >= 0 ? await client.increment(key, by, { initial }) : await client.decrement(key, -by, { initial: 0 })
  return Number(result.value ?? initial)
}
