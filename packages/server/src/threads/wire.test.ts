import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { HandlerError, isHandlerError } from '@edgeforge/sdk'
import { CallAnswerer, type CallBatch, callChannel, type ResultBatch } from './wire.ts'

/** A thread's channel and the main thread's answerer on the two ends of a real MessagePort pair. */
function connect(calls: Record<string, unknown>) {
  const { port1: thread, port2: main } = new MessageChannel()
  const sent: CallBatch[] = []
  const answered: ResultBatch[] = []
  const logged: string[] = []
  const channel = callChannel((batch) => {
    thread.postMessage(batch)
    sent.push(batch)
  })
  const answerer = new CallAnswerer(
    calls,
    (batch) => {
      main.postMessage(batch)
      answered.push(batch)
    },
    (_fields, message) => logged.push(message),
    'a test call failed',
  )
  main.on('message', (batch: CallBatch) => answerer.answer(batch))
  thread.on('message', (batch: ResultBatch) => channel.settle(batch))
  const close = () => {
    thread.close()
    main.close()
  }
  return { call: channel.call, sent, answered, logged, close }
}

test('the calls of one turn leave as one message, and their answers come back as one', async () => {
  const wire = connect({ add: async (a: number, b: number) => a + b, echo: async (v: unknown) => v })
  try {
    const answers = await Promise.all([
      wire.call('add', [1, 2]),
      wire.call('echo', [{ nested: [1, 'two', new Uint8Array([3])] }]),
      wire.call('add', [40, 2]),
    ])
    assert.deepEqual(answers, [3, { nested: [1, 'two', new Uint8Array([3])] }, 42])
    assert.equal(wire.sent.length, 1)
    assert.equal(wire.answered.length, 1)
    assert.equal(await wire.call('add', [2, 2]), 4)
    assert.equal(wire.sent.length, 2)
  } finally {
    wire.close()
  }
})

test('a failure reaches only its own call: a HandlerError as itself, anything else as a plain failure, logged', async () => {
  const wire = connect({
    limited: async () => {
      throw new HandlerError(429, 'rate_limited', 'slow down', { retryAfterSeconds: 3 })
    },
    broken: async () => {
      throw new Error('internal detail')
    },
    thrower: () => {
      throw new Error('thrown before any promise')
    },
    ok: async () => 'fine',
  })
  try {
    const [limited, broken, thrower, missing, ok] = await Promise.allSettled([
      wire.call('limited', []),
      wire.call('broken', []),
      wire.call('thrower', []),
      wire.call('nope', []),
      wire.call('ok', []),
    ])
    assert.equal(limited.status, 'rejected')
    const error = (limited as PromiseRejectedResult).reason
    assert.ok(isHandlerError(error) && error.status === 429 && error.retryAfterSeconds === 3)
    for (const failed of [broken, thrower, missing]) {
      assert.equal(failed.status, 'rejected')
      assert.equal((failed as PromiseRejectedResult).reason.message, 'the call failed inside the gateway')
    }
    assert.deepEqual(ok, { status: 'fulfilled', value: 'fine' })
    assert.equal(wire.logged.length, 3)
  } finally {
    wire.close()
  }
})

test('an argument or an answer that cannot be cloned fails its own call, not the turn’s others', async () => {
  const wire = connect({
    echo: async (v: unknown) => v,
    unclonable: async () => () => 'a function',
  })
  try {
    const [bad, good, badAnswer, goodToo] = await Promise.allSettled([
      wire.call('echo', [() => 'a function']),
      wire.call('echo', ['fine']),
      wire.call('unclonable', []),
      wire.call('echo', ['also fine']),
    ])
    assert.equal(bad.status, 'rejected')
    assert.match(String((bad as PromiseRejectedResult).reason), /could not be cloned/)
    assert.deepEqual(good, { status: 'fulfilled', value: 'fine' })
    assert.equal(badAnswer.status, 'rejected')
    assert.equal((badAnswer as PromiseRejectedResult).reason.message, 'the call failed inside the gateway')
    assert.deepEqual(goodToo, { status: 'fulfilled', value: 'also fine' })
  } finally {
    wire.close()
  }
})
