import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import vm from 'node:vm'
import { HandlerError } from './errors.ts'
import { handler } from './handler.ts'
import { isJobDefinition, isUnrecoverableError, type JobContext, job, UnrecoverableError } from './job.ts'
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

describe('job()', () => {
  test('returns a frozen job definition that runs with a payload and a job context', async () => {
    const definition = job(async (payload: { n: number }, ctx) => {
      ctx.log('attempt', ctx.attempt)
      ctx.progress(0.5)
      return { doubled: payload.n * 2, queue: ctx.queue }
    })
    assert.equal(definition.kind, 'job')
    assert.ok(Object.isFrozen(definition))

    const lines: unknown[][] = []
    const progress: number[] = []
    const ctx: JobContext = {
      jobId: 'job-1',
      queue: 'math',
      attempt: 2,
      signal: new AbortController().signal,
      env: {},
      log: (...args) => lines.push(args),
      progress: (fraction) => progress.push(fraction),
      jobs: { enqueue: async (queue) => ({ id: 'j2', queue, status: 'queued', deduplicated: false }) },
      input: (async function* () {})(),
      artifacts: {
        put: async () => {
          throw new Error('not used by this job')
        },
      },
      ...NO_SERVICES_STUB,
    }
    assert.deepEqual(await definition.fn({ n: 21 }, ctx), { doubled: 42, queue: 'math' })
    assert.deepEqual(lines, [['attempt', 2]])
    assert.deepEqual(progress, [0.5])
  })

  test('refuses something that is not a function', () => {
    assert.throws(() => job(42 as never), TypeError)
  })

  test('isJobDefinition tells job definitions from handler definitions and look-alikes', async () => {
    assert.equal(isJobDefinition(job(() => undefined)), true)
    assert.equal(isJobDefinition(handler(() => Response.noContent())), false)
    assert.equal(isJobDefinition({ kind: 'job', fn: () => undefined }), false)
    assert.equal(isJobDefinition(undefined), false)
    const copy = (await import(`./job.ts?copy=${Date.now()}`)) as typeof import('./job.ts')
    assert.equal(isJobDefinition(copy.job(() => undefined)), true)
  })
})

describe('UnrecoverableError', () => {
  test('is an Error with a name, a message and a cause', () => {
    const cause = new Error('404 from upstream')
    const error = new UnrecoverableError('record is gone', { cause })
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'UnrecoverableError')
    assert.equal(error.message, 'record is gone')
    assert.equal(error.cause, cause)
  })

  test('isUnrecoverableError checks the brand, across SDK copies and realms', async () => {
    assert.equal(isUnrecoverableError(new UnrecoverableError('x')), true)
    assert.equal(isUnrecoverableError(new Error('x')), false)
    assert.equal(isUnrecoverableError(HandlerError.badRequest('x')), false)
    assert.equal(isUnrecoverableError(null), false)
    const copy = (await import(`./job.ts?copy=${Date.now()}-u`)) as typeof import('./job.ts')
    const fromCopy = new copy.UnrecoverableError('x')
    assert.equal(fromCopy instanceof UnrecoverableError, false)
    assert.equal(isUnrecoverableError(fromCopy), true)
    const foreign: unknown = vm.runInNewContext(
      `const e = new Error('x'); e[Symbol.for('edgeforge.UnrecoverableError')] = true; e`,
    )
    assert.equal(isUnrecoverableError(foreign), true)
  })
})
