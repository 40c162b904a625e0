import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import vm from 'node:vm'
import type { Context } from './context.ts'
import { handler, isHandlerDefinition } from './handler.ts'
import { job } from './job.ts'
import { Request } from './request.ts'
import { Response } from './response.ts'

const noServices = () => {
  throw new Error('no services in this test')
}
const NO_SERVICES_STUB = {
  database: noServices,
  cache: noServices,
  storage: noServices,
  files: noServices,
  email: noServices,
  records: noServices,
}

function fakeContext(lines: string[]): Context {
  const log =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(`${level} ${args.join(' ')}`)
  return {
    requestId: 'req-1',
    signal: new AbortController().signal,
    env: {},
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    jobs: {
      enqueue: async (queue) => ({ id: 'job-1', queue, status: 'queued', deduplicated: false }),
    },
    ...NO_SERVICES_STUB,
  }
}

describe('handler()', () => {
  test('returns a frozen http definition whose fn is the handler', async () => {
    const definition = handler(async (req, ctx) => {
      ctx.log.info('path', req.path)
      const queued = await ctx.jobs.enqueue('q', { a: 1 })
      return Response.accepted({ job: queued.id })
    })
    assert.equal(definition.kind, 'http')
    assert.ok(Object.isFrozen(definition))
    assert.deepEqual(Object.keys(definition).sort(), ['fn', 'kind'])

    const lines: string[] = []
    const request = new Request({
      method: 'POST',
      path: '/reports',
      rawQuery: '',
      headers: {},
      params: {},
      body: new Uint8Array(),
      clientIp: undefined,
      requestId: 'req-1',
    })
    const response = await definition.fn(request, fakeContext(lines))
    assert.equal(response.status, 202)
    assert.equal(response.body, '{"job":"job-1"}')
    assert.deepEqual(lines, ['info path /reports'])
  })

  test('refuses something that is not a function', () => {
    assert.throws(() => handler('nope' as never), TypeError)
  })
})

describe('isHandlerDefinition', () => {
  test('true only for handler() results', () => {
    assert.equal(isHandlerDefinition(handler(() => Response.noContent())), true)
    assert.equal(isHandlerDefinition(job(() => 1)), false)
    assert.equal(isHandlerDefinition({ kind: 'http', fn: () => Response.noContent() }), false)
    assert.equal(
      isHandlerDefinition(() => Response.noContent()),
      false,
    )
    assert.equal(isHandlerDefinition(null), false)
  })

  test('carries the Symbol.for("edgeforge.definition") brand', () => {
    const definition = handler(() => Response.noContent())
    assert.equal((definition as unknown as Record<symbol, unknown>)[Symbol.for('edgeforge.definition')], true)
  })

  test('recognizes definitions from another SDK copy and another realm', async () => {
    const copy = (await import(`./handler.ts?copy=${Date.now()}`)) as typeof import('./handler.ts')
    assert.equal(isHandlerDefinition(copy.handler(() => Response.noContent())), true)
    const foreign: unknown = vm.runInNewContext(`
      const definition = { kind: 'http', fn: () => null }
      Object.defineProperty(definition, Symbol.for('edgeforge.definition'), { value: true })
      definition
    `)
    assert.equal(isHandlerDefinition(foreign), true)
  })
})
