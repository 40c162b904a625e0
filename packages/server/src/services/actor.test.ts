import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isHandlerError, isServiceError } from '@edgeforge/sdk'
import { type ConnectionFactory, ServiceActor } from './actor.ts'

/** Connections are numbered objects; `up` decides whether connecting works. */
function factory(): ConnectionFactory<{ id: number; closed: boolean }> & {
  up: boolean
  made: number
  closed: number
} {
  const f = {
    up: true,
    made: 0,
    closed: 0,
    async connect() {
      if (!f.up) throw new Error('connect ECONNREFUSED 127.0.0.1:1')
      f.made += 1
      return { id: f.made, closed: false }
    },
    async close(c: { closed: boolean }) {
      c.closed = true
      f.closed += 1
    },
    isConnectionError: (error: unknown) => (error as { code?: string }).code === 'ECONNRESET',
  }
  return f
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const options = { name: 'db', poolSize: 2, maxQueue: 3, operationTimeoutMs: 10_000 }

test('a pool of 2 runs 2 operations at once, queues 3, refuses the rest with service_busy', async () => {
  const f = factory()
  const actor = new ServiceActor(f, options)
  const gate = deferred()
  let concurrent = 0
  let peak = 0
  const op = async () => {
    concurrent += 1
    peak = Math.max(peak, concurrent)
    await gate.promise
    concurrent -= 1
    return 'done'
  }
  const results = Array.from({ length: 10 }, () =>
    actor.run(op).then(
      (v) => v,
      (e: unknown) => e,
    ),
  )
  await new Promise((r) => setImmediate(r))
  assert.equal(actor.status().inUse, 2)
  assert.equal(actor.status().queued, 3)
  gate.resolve()
  const settled = await Promise.all(results)
  assert.equal(settled.filter((v) => v === 'done').length, 5)
  const busy = settled.filter((v) => isHandlerError(v))
  assert.equal(busy.length, 5)
  for (const error of busy) {
    assert.ok(isHandlerError(error))
    assert.equal(error.status, 503)
    assert.equal(error.code, 'service_busy')
  }
  assert.equal(peak, 2)
  assert.equal(f.made, 2)
  assert.deepEqual(
    { ...actor.status(), lastError: null },
    {
      state: 'active',
      connected: true,
      connections: 2,
      inUse: 0,
      queued: 0,
      lastError: null,
    },
  )
})

test('an operation that outlives the timeout gets service_timeout and its connection is replaced', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 1, operationTimeoutMs: 30 })
  const hung = actor.run(() => new Promise(() => {}))
  await assert.rejects(
    hung,
    (e: unknown) => isHandlerError(e) && e.status === 504 && e.code === 'service_timeout',
  )
  assert.equal(f.closed, 1)
  assert.equal(await actor.run(async (c) => c.id), 2)
})

test('each operation runs out on its own deadline, however many settle around it', async () => {
  const f = factory()
  const timeoutMs = 200
  const actor = new ServiceActor(f, {
    ...options,
    poolSize: 4,
    maxQueue: 10_000,
    operationTimeoutMs: timeoutMs,
  })
  const hang = () => new Promise<never>(() => {})
  /** When the operation failed with service_timeout, ms after `started`. */
  const timesOut = (operation: Promise<unknown>, started: number) =>
    operation.then(
      () => Number.NaN,
      (e: unknown) =>
        isHandlerError(e) && e.code === 'service_timeout' ? performance.now() - started : Number.NaN,
    )
  const firstStarted = performance.now()
  const first = timesOut(actor.run(hang), firstStarted)
  // Thousands settle behind the hung one (the deadline list drops them as they go).
  for (let round = 0; round < 3; round++)
    await Promise.all(Array.from({ length: 1000 }, (_, i) => actor.run(async () => i)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const secondStarted = performance.now()
  const second = timesOut(actor.run(hang), secondStarted)
  const firstAfter = await first
  const secondPending = await Promise.race([second.then(() => false), Promise.resolve(true)])
  const secondAfter = await second
  assert.ok(firstAfter >= timeoutMs - 5, `the first ran out after ${firstAfter} ms`)
  assert.ok(secondAfter >= timeoutMs - 5, `the second ran out after ${secondAfter} ms`)
  assert.ok(secondPending, 'the second was still running when the first ran out')
  // Idle again: no timer is left (the test process would not end otherwise).
  assert.equal(await actor.run(async () => 'after'), 'after')
})

test('a queued operation that times out leaves the queue and does not run', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 1, operationTimeoutMs: 40 })
  // A lease holds the only connection with no timeout of its own once granted.
  const lease = await actor.lease()
  let ran = false
  const second = actor.run(async () => {
    ran = true
  })
  await assert.rejects(second, (e: unknown) => isHandlerError(e) && e.code === 'service_timeout')
  assert.equal(actor.status().queued, 0)
  lease.release()
  assert.equal(await actor.run(async () => 'next'), 'next')
  assert.equal(ran, false)
})

test('a refused operation is a ServiceError with the backend message only; the connection stays', async () => {
  const f = factory()
  const actor = new ServiceActor(f, options)
  const driverError = Object.assign(new Error('syntax error at or near "SELEC"'), {
    routine: 'scanner_yyerror',
    file: 'scan.l',
  })
  await assert.rejects(
    actor.run(async () => {
      throw driverError
    }),
    (e: unknown) =>
      isServiceError(e) &&
      e.code === 'operation_failed' &&
      e.message === 'syntax error at or near "SELEC"' &&
      !('routine' in e) &&
      e.service === 'db',
  )
  assert.equal(await actor.run(async (c) => c.id), 1)
  assert.equal(f.closed, 0)
})

test('a connection error closes the connection, answers 503 and the next operation reconnects', async () => {
  const f = factory()
  const actor = new ServiceActor(f, options)
  await assert.rejects(
    actor.run(async () => {
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    }),
    (e: unknown) =>
      isHandlerError(e) &&
      e.status === 503 &&
      e.code === 'service_unavailable' &&
      !e.message.includes('ECONNRESET'),
  )
  assert.equal(actor.status().connected, false)
  assert.equal(actor.status().lastError, 'read ECONNRESET')
  assert.equal(f.closed, 1)
  assert.equal(await actor.run(async (c) => c.id), 2)
  assert.equal(actor.status().connected, true)
})

test('a backend that is down fails fast for a backoff window, then is tried again', async () => {
  const f = factory()
  f.up = false
  const actor = new ServiceActor(f, options)
  await assert.rejects(
    actor.run(async () => 1),
    (e: unknown) => isHandlerError(e) && e.code === 'service_unavailable',
  )
  f.up = true
  // Inside the window nobody connects, even though the backend is back.
  await assert.rejects(
    actor.run(async () => 1),
    (e: unknown) => isHandlerError(e) && e.code === 'service_unavailable',
  )
  assert.equal(f.made, 0)
  await new Promise((r) => setTimeout(r, 150))
  assert.equal(await actor.run(async () => 'back'), 'back')
  assert.equal(f.made, 1)
})

test('deactivate lets running and queued operations finish, refuses new ones, then closes the pool', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 1 })
  const gate = deferred()
  const running = actor.run(async () => {
    await gate.promise
    return 'first'
  })
  const queued = actor.run(async () => 'second')
  await new Promise((r) => setImmediate(r))
  const closing = actor.deactivate()
  await assert.rejects(
    actor.run(async () => 'late'),
    (e: unknown) => isHandlerError(e) && e.code === 'service_unavailable',
  )
  assert.equal(actor.status().state, 'draining')
  gate.resolve()
  assert.equal(await running, 'first')
  assert.equal(await queued, 'second')
  await closing
  assert.equal(actor.status().state, 'closed')
  assert.equal(f.closed, 1)
  assert.equal(actor.status().connections, 0)
})

test('a lease holds one connection across operations and gives it back on release', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 1 })
  const lease = await actor.lease()
  const ids = [await lease.run(async (c) => c.id), await lease.run(async (c) => c.id)]
  assert.deepEqual(ids, [1, 1])
  const other = actor.run(async (c) => c.id)
  assert.equal(actor.status().queued, 1)
  lease.release()
  lease.release()
  assert.equal(await other, 1)
  assert.equal(actor.status().inUse, 0)
})

test('200 concurrent operations on a pool of 2 and a queue of 50: each answered once, none lost', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 2, maxQueue: 50 })
  let answered = 0
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      actor
        .run(async () => {
          await new Promise((r) => setTimeout(r, 2))
          return i
        })
        .then(
          (v) => {
            answered += 1
            return v
          },
          (e: unknown) => {
            answered += 1
            return isHandlerError(e) ? e.code : 'other'
          },
        ),
    ),
  )
  assert.equal(answered, 200)
  const ok = outcomes.filter((v) => typeof v === 'number')
  assert.equal(ok.length, 52)
  assert.equal(outcomes.filter((v) => v === 'service_busy').length, 148)
  assert.equal(new Set(ok).size, 52)
})

test('a connection that pipelines takes several operations at once, up to its limit, before another opens', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 2, maxQueue: 10, operationsPerConnection: 3 })
  const gate = deferred()
  const used: number[] = []
  const runs = Array.from({ length: 8 }, () =>
    actor.run(async (c) => {
      used.push(c.id)
      await gate.promise
      return c.id
    }),
  )
  await new Promise((r) => setImmediate(r))
  // 3 on the first connection, 3 on the second, 2 waiting.
  assert.deepEqual(
    { connections: actor.status().connections, inUse: actor.status().inUse, queued: actor.status().queued },
    {
      connections: 2,
      inUse: 6,
      queued: 2,
    },
  )
  gate.resolve()
  const ids = await Promise.all(runs)
  assert.equal(f.made, 2)
  assert.deepEqual([...new Set(ids)].sort(), [1, 2])
  assert.equal(actor.status().inUse, 0)
  await assert.rejects(actor.lease(), /cannot be leased/)
  await actor.deactivate()
  assert.equal(f.closed, 2)
})

test('a shared connection that dies is closed once, and its other operations answer 503', async () => {
  const f = factory()
  const actor = new ServiceActor(f, { ...options, poolSize: 1, operationsPerConnection: 4 })
  const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  const gate = deferred()
  const ops = Array.from({ length: 3 }, () =>
    actor.run(async () => {
      await gate.promise
      throw reset()
    }),
  )
  await new Promise((r) => setImmediate(r))
  gate.resolve()
  for (const op of ops)
    await assert.rejects(op, (e: unknown) => isHandlerError(e) && e.code === 'service_unavailable')
  assert.equal(f.closed, 1)
  assert.equal(actor.status().connections, 0)
  assert.equal(await actor.run(async (c) => c.id), 2)
})
