import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  type CompileFailure,
  createEndpoint,
  deployEndpoint,
  expectError,
  expectStatus,
  getEndpoint,
  lifecycle,
  readLogs,
} from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const version = (n: number) => handlerSource(`export default handler(() => Response.text(200, 'v${n}'))`)

test('endpoint lifecycle over the management API', async (t) => {
  const srv = await startTestServer(t)
  const gw = (path: string, init?: RequestInit) => fetch(srv.gatewayUrl + path, init)
  const bodyOf = async (path: string) => {
    const response = await gw(path)
    return { status: response.status, text: await response.text() }
  }

  await t.test('compile → compiled, start → running and served; stop → stopped and 404', async () => {
    const endpoint = await createEndpoint(srv, {
      name: 'steps',
      method: 'GET',
      path: '/steps',
      code: version(1),
    })
    assert.equal(endpoint.status, 'created')
    assert.equal(endpoint.compiled_version, null)
    assert.equal(endpoint.running_version, null)

    const compiled = expectStatus(await lifecycle(srv, endpoint.id, 'compile'), 200).body.data
    assert.equal(compiled.status, 'compiled')
    assert.equal(compiled.compiled_version, 1)
    assert.equal(compiled.reused, false)
    assert.deepEqual(compiled.diagnostics, [])
    assert.deepEqual(Object.keys(compiled.timings_ms ?? {}).sort(), ['bundle', 'install', 'type_check'])
    const afterCompile = await getEndpoint(srv, endpoint.id)
    assert.deepEqual([afterCompile.status, afterCompile.compiled_version], ['compiled', 1])
    assert.equal((await bodyOf('/steps')).status, 404, 'a compiled endpoint is not served yet')

    const started = expectStatus(await lifecycle(srv, endpoint.id, 'start'), 200).body.data
    assert.deepEqual(
      { status: started.status, running_version: started.running_version, swapped: started.swapped },
      { status: 'running', running_version: 1, swapped: false },
    )
    assert.deepEqual(await bodyOf('/steps'), { status: 200, text: 'v1' }, 'start returns once it serves')
    const running = await getEndpoint(srv, endpoint.id)
    assert.deepEqual([running.status, running.running_version], ['running', 1])

    // Compile and start again: the compiled version is hot-swapped in.
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: version(2) }), 200)
    assert.equal((await bodyOf('/steps')).text, 'v1', 'saved code does not serve before it is deployed')
    const recompiled = expectStatus(await lifecycle(srv, endpoint.id, 'compile'), 200).body.data
    assert.deepEqual([recompiled.status, recompiled.compiled_version], ['running', 2])
    assert.equal((await bodyOf('/steps')).text, 'v1', 'a compile alone does not swap')
    const swapped = expectStatus(await lifecycle(srv, endpoint.id, 'start'), 200).body.data
    assert.deepEqual([swapped.running_version, swapped.swapped], [2, true])
    assert.equal((await bodyOf('/steps')).text, 'v2')

    const stopped = expectStatus(await lifecycle(srv, endpoint.id, 'stop'), 200).body.data
    assert.equal(stopped.status, 'stopped')
    assert.deepEqual(stopped.draining, [])
    const gone = await gw('/steps')
    assert.equal(gone.status, 404)
    assert.equal(((await gone.json()) as { error: { code: string } }).error.code, 'not_found')
    assert.equal((await getEndpoint(srv, endpoint.id)).status, 'stopped')

    // Starting a stopped endpoint again needs no compile.
    const restarted = expectStatus(await lifecycle(srv, endpoint.id, 'start'), 200).body.data
    assert.deepEqual([restarted.status, restarted.running_version], ['running', 2])
    assert.equal((await bodyOf('/steps')).text, 'v2')
  })

  await t.test('stop unroutes at once and reports the request still draining, which completes', async () => {
    const gateDir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-gate-'))
    t.after(() => rmSync(gateDir, { recursive: true, force: true }))
    const gate = join(gateDir, 'open')
    const { endpoint } = await deployEndpoint(srv, {
      name: 'gated',
      method: 'GET',
      path: '/gated',
      code: handlerSource(`import { existsSync } from 'node:fs'
export default handler(async () => {
  console.log('entered')
  while (!existsSync(${JSON.stringify(gate)})) await new Promise((resolve) => setTimeout(resolve, 10))
  return Response.text(200, 'finished on v1')
})`),
    })
    const inFlight = gw('/gated')
    await waitFor('the request to enter the handler', async () =>
      (await readLogs(srv, endpoint.id)).find((line) => line.message === 'entered'),
    )
    const stopped = expectStatus(await lifecycle(srv, endpoint.id, 'stop'), 200).body.data
    assert.equal(stopped.status, 'stopped')
    assert.deepEqual(stopped.draining, [{ version: 1, in_flight: 1 }])
    assert.equal((await gw('/gated')).status, 404, 'new requests no longer reach it')
    const stats = expectStatus(
      await srv.api<{ http_handlers: { draining_requests: number } }>('GET', '/api/stats'),
      200,
    )
    assert.equal(stats.body.data.http_handlers.draining_requests, 1)
    writeFileSync(gate, '')
    const finished = await inFlight
    assert.equal(finished.status, 200)
    assert.equal(await finished.text(), 'finished on v1')
  })

  await t.test(
    'past the drain timeout, an old version is aborted, answered 503 drain_timeout and released',
    async () => {
      const slow = (n: number) =>
        handlerSource(`export default handler(async (req, ctx) => {
  ctx.signal.addEventListener('abort', () => ctx.log.info('aborted: ' + String(ctx.signal.reason?.message)))
  ctx.log.info('entered')
  // Ignores the abort on purpose: the gateway must cut it off.
  await new Promise((resolve) => setTimeout(resolve, 4000))
  return Response.text(200, 'v${n} late')
})`)
      const { endpoint } = await deployEndpoint(srv, {
        name: 'overstayer',
        method: 'GET',
        path: '/overstayer',
        code: slow(1),
        drain_timeout_ms: 1000,
      })
      const startedAt = Date.now()
      const inFlight = gw('/overstayer')
      await waitFor('the request to enter the handler', async () =>
        (await readLogs(srv, endpoint.id)).find((line) => line.message === 'entered'),
      )
      expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: version(2) }), 200)
      const swapped = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
      assert.deepEqual(swapped.draining, [{ version: 1, in_flight: 1 }])
      assert.equal((await bodyOf('/overstayer')).text, 'v2', 'new requests reach v2 at once')
      const stats = async () =>
        expectStatus(
          await srv.api<{ http_handlers: { draining: number; draining_requests: number } }>(
            'GET',
            '/api/stats',
          ),
          200,
        ).body.data.http_handlers
      const during = await stats()
      assert.equal(during.draining, 1)
      assert.equal(during.draining_requests, 1)

      const cutOff = await inFlight
      const elapsed = Date.now() - startedAt
      assert.equal(cutOff.status, 503)
      assert.equal(cutOff.headers.get('retry-after'), '1')
      const body = (await cutOff.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'drain_timeout')
      assert.ok(elapsed < 3500, `cut off at the drain timeout, not when the handler finished (${elapsed} ms)`)
      const lines = (await readLogs(srv, endpoint.id)).map((line) => line.message)
      assert.ok(
        lines.some((line) => /^aborted: .*drain timeout/.test(line)),
        `ctx.signal was aborted: ${lines}`,
      )
      const after = await stats()
      assert.equal(after.draining, 0, 'the old version is released')
      assert.equal(after.draining_requests, 0)
    },
  )

  await t.test('start of a never-compiled endpoint is a 409; unknown ids are 404', async () => {
    const endpoint = await createEndpoint(srv, { name: 'raw', method: 'GET', path: '/raw', code: version(1) })
    const error = expectError(await lifecycle(srv, endpoint.id, 'start'), 409, 'conflict')
    assert.match(error.message, /has not been compiled/)
    assert.equal((await getEndpoint(srv, endpoint.id)).status, 'created')
    for (const action of ['compile', 'start', 'stop', 'deploy'] as const) {
      expectError(await lifecycle(srv, 'no-such-endpoint', action), 404, 'not_found')
    }
    expectError(await srv.api('GET', '/api/endpoints/no-such-endpoint/logs'), 404, 'not_found')
    const empty = await createEndpoint(srv, { name: 'empty', method: 'GET', path: '/empty' })
    const noCode = expectError(await lifecycle(srv, empty.id, 'deploy'), 400, 'compile_failed')
    assert.match(noCode.message, /has no code yet/)
  })

  await t.test('a type error is a 400 with positions, and the running version keeps serving', async () => {
    const { endpoint } = await deployEndpoint(srv, {
      name: 'typed',
      method: 'GET',
      path: '/typed',
      code: version(1),
    })
    const broken = `${version(1)}const n: number = 'not a number'\nexport const unused = n\n`
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: broken }), 200)
    const error = expectError(await lifecycle(srv, endpoint.id, 'compile'), 400, 'compile_failed')
    const details = error.details as CompileFailure
    assert.equal(details.stage, 'typecheck')
    const [first] = details.diagnostics
    assert.deepEqual(
      {
        file: first.file,
        line: first.line,
        column: first.column,
        code: first.code,
        severity: first.severity,
      },
      { file: 'typed.ts', line: 3, column: 7, code: 'TS2322', severity: 'error' },
    )
    assert.match(first.message, /not assignable to type 'number'/)
    assert.match(error.message, /^typed\.ts:3:7: TS2322 /)

    assert.equal(await (await gw('/typed')).text(), 'v1', 'the previous version keeps serving')
    const after = await getEndpoint(srv, endpoint.id)
    assert.equal(after.status, 'running')
    assert.equal(after.running_version, 1)
    assert.equal(after.compiled_version, 1)
    assert.match(after.last_error ?? '', /typed\.ts:3:7: TS2322/)

    // deploy fails the same way, and a fixed deploy swaps in and clears the error.
    expectError(await lifecycle(srv, endpoint.id, 'deploy'), 400, 'compile_failed')
    assert.equal(await (await gw('/typed')).text(), 'v1')
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: version(2) }), 200)
    const fixed = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
    assert.deepEqual([fixed.running_version, fixed.swapped, fixed.compile?.compiled_version], [2, true, 2])
    assert.equal(await (await gw('/typed')).text(), 'v2')
    assert.equal((await getEndpoint(srv, endpoint.id)).last_error, null)
  })

  await t.test('a failed compile of an endpoint that is not running puts it in status error', async () => {
    const syntax = await createEndpoint(srv, {
      name: 'syntax',
      method: 'GET',
      path: '/syntax',
      code: "import { handler, Response } from '@edgeforge/sdk'\nexport default handler(() => {\n  return Response.ok(\n",
    })
    const error = expectError(await lifecycle(srv, syntax.id, 'deploy'), 400, 'compile_failed')
    const details = error.details as CompileFailure
    assert.ok(details.diagnostics.length > 0)
    const [first] = details.diagnostics
    assert.deepEqual(
      { file: first.file, line: first.line, column: first.column, code: first.code },
      { file: 'syntax.ts', line: 4, column: 1, code: 'TS1005' },
    )
    assert.match(first.message, /'\)' expected/)
    const after = await getEndpoint(srv, syntax.id)
    assert.deepEqual([after.status, after.compiled_version, after.running_version], ['error', null, null])
    assert.ok(after.last_error)
    assert.equal((await gw('/syntax')).status, 404)
  })

  await t.test(
    'imports: an unlisted package fails with its line; a module without a handler fails clearly',
    async () => {
      const unlisted = await createEndpoint(srv, {
        name: 'unlisted',
        method: 'GET',
        path: '/unlisted',
        code: handlerSource(
          `import leftPad from 'left-pad'\nexport default handler(() => Response.text(200, leftPad('x', 3)))`,
        ),
      })
      const error = expectError(await lifecycle(srv, unlisted.id, 'compile'), 400, 'compile_failed')
      const [first] = (error.details as CompileFailure).diagnostics
      assert.deepEqual([first.file, first.line, first.column], ['unlisted.ts', 2, 21], JSON.stringify(first))
      assert.match(first.message, /"left-pad" is not in this endpoint's dependencies/)

      const relative = await createEndpoint(srv, {
        name: 'relative',
        method: 'GET',
        path: '/relative',
        code: handlerSource(
          `import { helper } from './helper.ts'\nexport default handler(() => Response.text(200, helper))`,
        ),
      })
      const relativeError = expectError(await lifecycle(srv, relative.id, 'compile'), 400, 'compile_failed')
      const [relativeFirst] = (relativeError.details as CompileFailure).diagnostics
      assert.equal(relativeFirst.line, 2)
      assert.match(relativeFirst.message, /a handler is a single file/)

      const noHandler = await createEndpoint(srv, {
        name: 'no-handler',
        method: 'GET',
        path: '/no-handler',
        code: "import { Response } from '@edgeforge/sdk'\nexport default () => Response.ok()\n",
      })
      const noHandlerError = expectError(await lifecycle(srv, noHandler.id, 'deploy'), 400, 'compile_failed')
      assert.equal((noHandlerError.details as CompileFailure).stage, 'load')
      assert.match(
        noHandlerError.message,
        /no-handler\.ts must `export default handler\(async \(req, ctx\) => …\)`/,
      )
      assert.equal((await getEndpoint(srv, noHandler.id)).status, 'error')

      const noDefault = await createEndpoint(srv, {
        name: 'no-default',
        method: 'GET',
        path: '/no-default',
        code: handlerSource('export const h = handler(() => Response.ok())'),
      })
      const noDefaultError = expectError(await lifecycle(srv, noDefault.id, 'deploy'), 400, 'compile_failed')
      assert.match(noDefaultError.message, /must `export default handler/)
    },
  )

  await t.test(
    'npm dependencies: a missing package fails the install stage; a file: package works',
    async () => {
      const missingName = `edgeforge-e2e-no-such-package-${process.pid}-zz`
      const missing = await createEndpoint(srv, {
        name: 'missing-dep',
        method: 'GET',
        path: '/missing-dep',
        dependencies: { [missingName]: '^1.0.0' },
        code: handlerSource(
          `import thing from '${missingName}'\nexport default handler(() => Response.ok(thing))`,
        ),
      })
      const error = expectError(await lifecycle(srv, missing.id, 'deploy'), 400, 'compile_failed')
      const details = error.details as CompileFailure
      assert.equal(details.stage, 'install')
      assert.match(
        details.diagnostics[0].message,
        new RegExp(`npm could not install ${missingName}@\\^1\\.0\\.0`),
      )
      assert.equal(details.diagnostics[0].code, 'E404')
      assert.equal((await getEndpoint(srv, missing.id)).status, 'error')

      const packageRoot = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-pkg-'))
      t.after(() => rmSync(packageRoot, { recursive: true, force: true }))
      const packageDir = join(packageRoot, 'shout')
      mkdirSync(packageDir)
      writeFileSync(
        join(packageDir, 'package.json'),
        JSON.stringify({ name: 'shout', version: '1.0.0', main: 'index.js', types: 'index.d.ts' }),
      )
      writeFileSync(
        join(packageDir, 'index.js'),
        "exports.shout = (text) => text.toUpperCase() + '!'\nexports.origin = 'local package'\n",
      )
      writeFileSync(
        join(packageDir, 'index.d.ts'),
        'export declare function shout(text: string): string\nexport declare const origin: string\n',
      )
      const { endpoint, report } = await deployEndpoint(srv, {
        name: 'shouter',
        method: 'GET',
        path: '/shout/{word}',
        dependencies: { shout: `file:${packageDir}` },
        code: handlerSource(`import { origin, shout } from 'shout'
export default handler((req) => Response.ok({ said: shout(req.requirePathParam('word')), origin }))`),
      })
      assert.equal(report.compile?.reused, false)
      const response = await gw('/shout/hey')
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { said: 'HEY!', origin: 'local package' })

      // A type error against the package's own types is caught too.
      const misuse = handlerSource(`import { shout } from 'shout'
export default handler(() => Response.text(200, shout(42)))`)
      expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: misuse }), 200)
      const misuseError = expectError(await lifecycle(srv, endpoint.id, 'deploy'), 400, 'compile_failed')
      const [diagnostic] = (misuseError.details as CompileFailure).diagnostics
      assert.deepEqual([diagnostic.line, diagnostic.code], [3, 'TS2345'])
    },
  )

  await t.test('deploying unchanged code reuses the compiled version', async () => {
    const { endpoint, report } = await deployEndpoint(srv, {
      name: 'same',
      method: 'GET',
      path: '/same',
      code: version(1),
    })
    assert.equal(report.compile?.reused, false)
    assert.ok(report.compile?.timings_ms)
    const again = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
    assert.equal(again.compile?.reused, true)
    assert.equal(again.compile?.compiled_version, 1)
    assert.equal(again.compile?.timings_ms, undefined)
    assert.deepEqual([again.status, again.running_version, again.swapped], ['running', 1, false])
    // A changed description is not a changed handler.
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { description: 'docs only' }), 200)
    const third = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
    assert.equal(third.compile?.reused, true)
    assert.equal(await (await gw('/same')).text(), 'v1')
  })

  await t.test(
    'logs: console.* lines with the request ids the gateway returned, newest last, limit honoured',
    async () => {
      const { endpoint } = await deployEndpoint(srv, {
        name: 'chatty',
        method: 'GET',
        path: '/chatty',
        code: handlerSource(`export default handler((req, ctx) => {
  const n = req.queryParam('n')
  console.log('hit', n, { n: Number(n) })
  if (n === '2') console.warn('two is suspicious')
  ctx.log.error('via ctx', n)
  return Response.ok({ n })
})`),
      })
      const ids: string[] = []
      for (const n of [1, 2, 3]) {
        const response = await gw(`/chatty?n=${n}`)
        assert.equal(response.status, 200)
        await response.text()
        ids.push(response.headers.get('x-request-id') ?? '')
      }
      const all = await readLogs(srv, endpoint.id)
      assert.deepEqual(
        all.map((line) => [line.request_id, line.level, line.message]),
        [
          [ids[0], 'info', 'hit 1 { n: 1 }'],
          [ids[0], 'error', 'via ctx 1'],
          [ids[1], 'info', 'hit 2 { n: 2 }'],
          [ids[1], 'warn', 'two is suspicious'],
          [ids[1], 'error', 'via ctx 2'],
          [ids[2], 'info', 'hit 3 { n: 3 }'],
          [ids[2], 'error', 'via ctx 3'],
        ],
      )
      assert.ok(all.every((line) => line.version === 1 && !Number.isNaN(Date.parse(line.time))))
      const times = all.map((line) => Date.parse(line.time))
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        'oldest first, newest last',
      )

      const lastTwo = await readLogs(srv, endpoint.id, 2)
      assert.deepEqual(
        lastTwo.map((line) => line.message),
        ['hit 3 { n: 3 }', 'via ctx 3'],
      )
      expectError(
        await srv.api('GET', `/api/endpoints/${endpoint.id}/logs?limit=0`),
        400,
        'validation_failed',
      )
    },
  )
})
