import { ACTOR_FIELDS, int, type ServiceKind } from '../kind.ts'

interface Entry {
  value: string
  /** Epoch ms; 0 = no expiry. */
  expiresAt: number
}

/** One in-process map per active service; expired keys are dropped when read or swept. */
export class MemoryStore {
  private readonly entries = new Map<string, Entry>()
  private readonly maxKeys: number

  constructor(maxKeys: number) {
    this.maxKeys = maxKeys
  }

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  set(key: string, value: string, ttlSeconds: number | null): void {
    if (!this.entries.has(key) && this.entries.size >= this.maxKeys) {
      this.sweep()
      // Still full: evict the oldest insertion (Map keeps insertion order).
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value as string)
    }
    this.entries.set(key, { value, expiresAt: ttlSeconds ? Date.now() + ttlSeconds * 1000 : 0 })
  }

  delete(key: string): boolean {
    return this.get(key) !== undefined && this.entries.delete(key)
  }

  private sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.entries)
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.entries.delete(key)
  }
}

/** `memory`: a cache inside the gateway process; nothing to run, lost on restart, not shared between processes. */
export const memoryKind: ServiceKind<MemoryStore> = {
  type: 'memory',
  family: 'cache',
  defaultPoolSize: 1,
  fields: [
    {
      name: 'max_keys',
      type: 'integer',
      default: 100_000,
      min: 1,
      max: 100_000_000,
      help: 'Keys kept at most; the oldest go first',
    },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    // Every pooled "connection" is the same store, so pool_size changes nothing but concurrency accounting.
    const store = new MemoryStore(int(config, 'max_keys'))
    return { connect: async () => store, close: async () => {}, isConnectionError: () => false }
  },
  operations: {
    get: async (store, [key]) => store.get(cacheKey(key))?.value ?? null,
    set: async (store, [key, value, ttl]) => {
      store.set(cacheKey(key), cacheValue(value), ttlOf(ttl))
    },
    delete: async (store, [key]) => store.delete(cacheKey(key)),
    exists: async (store, [key]) => store.get(cacheKey(key)) !== undefined,
    incr: async (store, [key, by]) => add(store, cacheKey(key), amount(by)),
    decr: async (store, [key, by]) => add(store, cacheKey(key), -amount(by)),
    expire: async (store, [key, ttl]) => {
      const entry = store.get(cacheKey(key))
      if (!entry) return false
      entry.expiresAt = Date.now() + Number(ttl) * 1000
      return true
    },
    ttl: async (store, [key]) => {
      const entry = store.get(cacheKey(key))
      if (!entry) return -2
      return entry.expiresAt === 0 ? -1 : Math.ceil((entry.expiresAt - Date.now()) / 1000)
    },
  },
  async ping() {},
}

function add(store: MemoryStore, key: string, by: number): number {
  const entry = store.get(key)
  const current = entry ? Number(entry.value) : 0
  if (!Number.isInteger(current)) throw new TypeError(`the value of "${key}" is not an integer`)
  const next = current + by
  if (entry) entry.value = String(next)
  else store.set(key, String(next), null)
  return next
}

export function cacheKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new TypeError('a cache key must be a non-empty string')
  return key
}

export function cacheValue(value: unknown): string {
  if (typeof value !== 'string')
    throw new TypeError('a cache value must be a string (JSON.stringify objects)')
  return value
}

export function ttlOf(ttl: unknown): number | null {
  if (ttl === null || ttl === undefined) return null
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)
    throw new TypeError('ttlSeconds must be a positive integer')
  return ttl
}

export function amount(by: unknown): number {
  if (typeof by !== 'number' || !Number.isInteger(by)) throw new TypeError('incr/decr take an integer amount')
  return by
}
