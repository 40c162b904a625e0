import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { test } from 'node:test'
import { Response } from '@edgeforge/sdk'
import { Exchange, type ExchangeHost, PendingExchanges } from './exchange.ts'
import { HandlerVersion } from './registry.ts'

const version = new HandlerVersion({
  endpointId: 'e',
  endpointName: 'e',
  version: 1,
  fn: () => Response.ok(),
  mapStack: (stack) => stack,
})

function exchange(id: string): Exchange {
  return new Exchange({} as ExchangeHost, version, {} as ServerResponse, id, 0)
}

function ids(list: PendingExchanges): string[] {
  const seen: string[] = []
  for (let at = list.first; at; at = at.nextPending) seen.push(at.requestId)
  return seen
}

test('pending exchanges: removal from the front, middle and back keeps the rest linked', () => {
  const list = new PendingExchanges()
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(exchange)
  for (const each of [a, b, c, d]) list.add(each)
  assert.deepEqual(ids(list), ['d', 'c', 'b', 'a'])
  list.delete(c)
  assert.deepEqual(ids(list), ['d', 'b', 'a'])
  list.delete(d)
  assert.deepEqual(ids(list), ['b', 'a'])
  list.delete(a)
  assert.deepEqual(ids(list), ['b'])
  assert.equal(list.size, 1)
  list.delete(b)
  assert.deepEqual(ids(list), [])
  assert.equal(list.size, 0)
  assert.equal(b.nextPending, undefined)
  list.add(a)
  assert.deepEqual(ids(list), ['a'])
})
