import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import vm from 'node:vm'
import { HandlerError, isHandlerError } from './errors.ts'
import { Response } from './response.ts'

const creators = [
  ['badRequest', HandlerError.badRequest, 400, 'bad_request'],
  ['validation', HandlerError.validation, 400, 'validation_failed'],
  ['unauthorized', HandlerError.unauthorized, 401, 'unauthorized'],
  ['forbidden', HandlerError.forbidden, 403, 'forbidden'],
  ['notFound', HandlerError.notFound, 404, 'not_found'],
  ['methodNotAllowed', HandlerError.methodNotAllowed, 405, 'method_not_allowed'],
  ['conflict', HandlerError.conflict, 409, 'conflict'],
  ['payloadTooLarge', HandlerError.payloadTooLarge, 413, 'payload_too_large'],
  ['internal', HandlerError.internal, 500, 'internal'],
  ['serviceUnavailable', HandlerError.serviceUnavailable, 503, 'service_unavailable'],
] as const

describe('HandlerError creators', () => {
  for (const [name, create, status, code] of creators) {
    test(`${name} is ${status} ${code}`, () => {
      const error = create(`about ${name}`)
      assert.ok(error instanceof HandlerError)
      assert.ok(error instanceof Error)
      assert.equal(error.status, status)
      assert.equal(error.code, code)
      assert.equal(error.message, `about ${name}`)
      assert.equal(error.name, 'HandlerError')
      assert.ok(create().message.length > 0, 'a default message exists')
    })
  }

  test('keeps a cause and has a stack', () => {
    const cause = new Error('driver said no')
    const error = HandlerError.internal('could not save', { cause })
    assert.equal(error.cause, cause)
    assert.match(error.stack ?? '', /HandlerError: could not save/)
  })

  test('the constructor takes any status and code', () => {
    const error = new HandlerError(429, 'rate_limited', 'slow down')
    assert.equal(error.status, 429)
    assert.equal(error.code, 'rate_limited')
  })
})

describe('toResponse', () => {
  test('gives the status and exactly {"error":{"code","message"},"request_id"}', () => {
    const response = HandlerError.notFound('no user 42').toResponse('req-9')
    assert.ok(response instanceof Response)
    assert.equal(response.status, 404)
    assert.deepEqual(response.headers, { 'content-type': 'application/json' })
    assert.equal(response.body, '{"error":{"code":"not_found","message":"no user 42"},"request_id":"req-9"}')
  })

  test('a retryAfterSeconds becomes the retry-after header, rounded up to whole seconds', () => {
    const response = new HandlerError(429, 'rate_limited', 'slow down', {
      retryAfterSeconds: 2.2,
    }).toResponse('r')
    assert.equal(response.headers['retry-after'], '3')
    assert.equal(HandlerError.serviceUnavailable('down').toResponse('r').headers['retry-after'], undefined)
  })

  test('escapes the message as JSON', () => {
    const response = HandlerError.validation('name "x"\nis bad').toResponse('r')
    assert.deepEqual(JSON.parse(response.body as string), {
      error: { code: 'validation_failed', message: 'name "x"\nis bad' },
      request_id: 'r',
    })
  })

  for (const [name, create, status, code] of creators) {
    test(`${name}().toResponse keeps status ${status} and code ${code}`, () => {
      const response = create('m').toResponse('id')
      assert.equal(response.status, status)
      assert.deepEqual(JSON.parse(response.body as string), {
        error: { code, message: 'm' },
        request_id: 'id',
      })
    })
  }
})

describe('isHandlerError', () => {
  test('true for HandlerErrors, false for others', () => {
    assert.equal(isHandlerError(HandlerError.conflict('x')), true)
    assert.equal(isHandlerError(new Error('x')), false)
    assert.equal(isHandlerError({ status: 400, code: 'bad_request', message: 'look-alike' }), false)
    assert.equal(isHandlerError(null), false)
    assert.equal(isHandlerError(undefined), false)
    assert.equal(isHandlerError('bad_request'), false)
  })

  test('the brand is Symbol.for("edgeforge.HandlerError") and stays out of JSON and keys', () => {
    const error = HandlerError.forbidden('no')
    assert.equal((error as unknown as Record<symbol, unknown>)[Symbol.for('edgeforge.HandlerError')], true)
    assert.deepEqual(Object.getOwnPropertySymbols(error), [])
  })

  test('recognizes an error from another copy of the SDK, which instanceof misses', async () => {
    const copy = (await import(`./errors.ts?copy=${Date.now()}`)) as typeof import('./errors.ts')
    assert.notEqual(copy.HandlerError, HandlerError)
    const foreign = copy.HandlerError.payloadTooLarge('too big')
    assert.equal(foreign instanceof HandlerError, false)
    assert.equal(isHandlerError(foreign), true)
    assert.equal(copy.isHandlerError(HandlerError.badRequest('x')), true)
  })

  test('recognizes a branded error from another realm', () => {
    const foreign: unknown = vm.runInNewContext(`
      const error = new Error('from another realm')
      error[Symbol.for('edgeforge.HandlerError')] = true
      error.status = 409
      error.code = 'conflict'
      error
    `)
    assert.equal(foreign instanceof Error, false)
    assert.equal(isHandlerError(foreign), true)
    const unbranded: unknown = vm.runInNewContext(`({ status: 409, code: 'conflict' })`)
    assert.equal(isHandlerError(unbranded), false)
  })

  test('fromRefusal: a 4xx or store_unavailable becomes a HandlerError, other errors stay as they are', () => {
    const refusal = (status: number, code: string, details?: unknown) =>
      Object.assign(new Error(`refused ${code}`), { status, code, details })
    const limited = refusal(429, 'rate_limited', { retry_after_seconds: 7 })
    const mapped = HandlerError.fromRefusal(limited, 'enqueue into q failed')
    assert.ok(mapped instanceof HandlerError)
    assert.equal(mapped.status, 429)
    assert.equal(mapped.code, 'rate_limited')
    assert.equal(mapped.message, 'enqueue into q failed')
    assert.equal(mapped.retryAfterSeconds, 7)
    assert.equal(mapped.cause, limited)
    assert.equal(
      HandlerError.fromRefusal(refusal(404, 'queue_not_found'))?.message,
      'refused queue_not_found',
    )
    assert.equal(
      HandlerError.fromRefusal(refusal(409, 'conflict', { retry_after_seconds: 'x' }))?.retryAfterSeconds,
      undefined,
    )
    assert.equal(HandlerError.fromRefusal(refusal(503, 'store_unavailable'))?.status, 503)
    assert.equal(HandlerError.fromRefusal(refusal(503, 'service_unavailable')), undefined)
    assert.equal(HandlerError.fromRefusal(refusal(500, 'internal')), undefined)
  })
})
