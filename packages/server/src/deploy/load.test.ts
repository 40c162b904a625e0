import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import * as sdk from '@edgeforge/sdk'
import { transform } from 'esbuild'
import { Compiler, mapStack } from '../compiler/index.ts'
import { type BundleConsole, loadBundle } from './load.ts'

const run = promisify(execFile)

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

function request(query = ''): sdk.Request {
  return new sdk.Request({
    method: 'GET',
    path: '/hello',
    rawQuery: query,
    headers: {},
    params: {},
    body: new Uint8Array(),
    clientIp: '127.0.0.1',
    requestId: 'req-1',
  })
}

function context(): sdk.Context {
  const log = { debug() {}, info() {}, warn() {}, error() {} }
  return {
    requestId: 'req-1',
    signal: new AbortController().signal,
    env: {},
    log,
    jobs: { enqueue: () => Promise.reject(new Error('no queue in this test')) },
    ...NO_SERVICES_STUB,
  }
}

function recordingConsole(): BundleConsole & { lines: string[] } {
  const lines: string[] = []
  const write = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
  }
  return { lines, log: write, info: write, warn: write, error: write, debug: write }
}

function asHandler(definition: unknown): sdk.HandlerDefinition {
  assert.ok(sdk.isHandlerDefinition(definition), 'the default export is a handler definition')
  return definition
}

describe('loadBundle', () => {
  let root: string
  let compiler: Compiler

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'edgeforge-load-'))
    compiler = new Compiler({ cacheDir: join(root, 'cache') })
  })

  after(() => {
    compiler.close()
    rmSync(root, { recursive: true, force: true })
  })

  async function compile(source: string, dependencies: Record<string, string> = {}) {
    const result = await compiler.compile({ source, filename: 'hello.ts', dependencies })
    assert.ok(result.ok, JSON.stringify(result))
    return result
  }

  test("the hello handler answers with a Response of the gateway's own SDK", async () => {
    const { bundle } = await compile(`import { handler, Response } from '@edgeforge/sdk'
export default handler(async (req, ctx) => Response.ok({ hello: req.queryParam('name') ?? 'world' }))
`)
    const loaded = loadBundle(bundle, {
      filename: 'edgeforge:endpoint/hello@v1.js',
      sdk,
      console: recordingConsole(),
    })
    assert.equal(loaded.filename, 'edgeforge:endpoint/hello@v1.js')
    assert.equal(loaded.lineOffset, 1)
    const response = await asHandler(loaded.definition).fn(request('name=edge'), context())
    assert.ok(response instanceof sdk.Response, 'instanceof holds: the SDK was not bundled')
    assert.equal(response.status, 200)
    assert.deepEqual(JSON.parse(String(response.body)), { hello: 'edge' })
  })

  test('the bundle writes to the console it is given', async () => {
    const { bundle } = await compile(`import { handler, Response } from '@edgeforge/sdk'
console.info('loading', 1 + 1)
export default handler(() => {
  console.warn('called')
  return Response.noContent()
})
`)
    const output = recordingConsole()
    const loaded = loadBundle(bundle, { filename: 'edgeforge:endpoint/console@v1.js', sdk, console: output })
    assert.deepEqual(output.lines, ['loading 2'])
    await asHandler(loaded.definition).fn(request(), context())
    assert.deepEqual(output.lines, ['loading 2', 'called'])
  })

  test('a handler that throws on line 5 maps to hello.ts:5', async () => {
    const { bundle, sourceMap } = await compile(`import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req) => {
  if (req.path === '/hello') {
    throw new Error('boom on line 5')
  }
  return Response.ok()
})
`)
    const loaded = loadBundle(bundle, { filename: 'edgeforge:endpoint/hello@v2.js', sdk, console })
    const error = await Promise.resolve()
      .then(() => asHandler(loaded.definition).fn(request(), context()))
      .then(
        () => assert.fail('expected the handler to throw'),
        (thrown: unknown) => thrown as Error,
      )
    assert.equal(error.message, 'boom on line 5')
    assert.match(error.stack ?? '', /edgeforge:endpoint\/hello@v2\.js:\d+:\d+/)
    const mapped = mapStack(error.stack ?? '', loaded.filename, sourceMap, loaded.lineOffset)
    assert.match(mapped, /hello\.ts:5:11\)/)
    assert.doesNotMatch(mapped, /hello@v2\.js/)
  })

  test('code on the first line of the bundle keeps its columns (the wrapper has a line of its own)', async () => {
    // Compiler bundles always start with esbuild's helpers; a minified script puts user code on line 1.
    const source = "exports.fail = function () { throw new Error('first') }\n"
    const { code, map } = await transform(source, {
      loader: 'ts',
      minifyWhitespace: true,
      sourcemap: 'external',
      sourcefile: 'one.ts',
    })
    assert.equal(code.split('\n')[0].includes('throw new Error'), true)
    const loaded = loadBundle(code, { filename: 'edgeforge:endpoint/first@v1.js', sdk, console })
    const exports = loaded.definition as { fail: () => never }
    const stack = (() => {
      try {
        exports.fail()
      } catch (error) {
        return (error as Error).stack ?? ''
      }
      return ''
    })()
    assert.match(stack, /edgeforge:endpoint\/first@v1\.js:2:\d+/)
    const column = source.indexOf('new Error') + 1
    assert.ok(
      mapStack(stack, loaded.filename, map, loaded.lineOffset).includes(
        `at exports.fail (one.ts:1:${column})`,
      ),
    )
  })

  test('a module that throws at top level fails to load, naming the TypeScript position', async () => {
    const { bundle, sourceMap } = await compile(`import { handler, Response } from '@edgeforge/sdk'
const config = JSON.parse('{"port": 1}') as { port: number; host?: string }
if (!config.host) throw new Error('config.host is missing')
export default handler(() => Response.ok(config))
`)
    const filename = 'edgeforge:endpoint/broken@v1.js'
    assert.throws(
      () => loadBundle(bundle, { filename, sdk, console, sourceMap }),
      (error: Error) => {
        assert.match(
          error.message,
          /^Module edgeforge:endpoint\/broken@v1\.js failed to load: config\.host is missing/,
        )
        assert.match(error.message, /\(at hello\.ts:3:25\)$/)
        assert.ok(error.cause instanceof Error)
        assert.match(error.cause.stack ?? '', /hello\.ts:3:25/, 'the cause carries the mapped stack')
        return true
      },
    )
    // Without the map the message still says where, in bundle coordinates.
    assert.throws(
      () => loadBundle(bundle, { filename, sdk, console }),
      /failed to load: .*\(at edgeforge:endpoint\/broken@v1\.js:\d+:\d+\)$/,
    )
  })

  test('require hands out the SDK and node builtins, and refuses anything else', () => {
    const builtins = loadBundle(
      "module.exports = { a: require('node:path').join('a', 'b'), b: require('path').sep, sdk: require('@edgeforge/sdk') }",
      { filename: 'edgeforge:endpoint/req@v1.js', sdk, console },
    )
    assert.deepEqual(builtins.definition, { a: join('a', 'b'), b: '/', sdk })
    assert.throws(
      () => loadBundle("require('left-pad')", { filename: 'edgeforge:endpoint/req@v2.js', sdk, console }),
      (error: Error) => {
        assert.match(
          error.message,
          /failed to load: Cannot require "left-pad" in edgeforge:endpoint\/req@v2\.js/,
        )
        assert.match(error.message, /dependencies/)
        return true
      },
    )
  })

  test('a module without a default export is its module.exports', () => {
    const loaded = loadBundle('exports.ping = () => "pong"', {
      filename: 'edgeforge:endpoint/cjs@v1.js',
      sdk,
      console,
    })
    assert.equal((loaded.definition as { ping: () => string }).ping(), 'pong')
  })

  test('a handler using a file: dependency loads and runs', async () => {
    const dir = join(root, 'tiny-dep')
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'tiny-dep', version: '1.0.0', main: 'index.js' }),
    )
    writeFileSync(join(dir, 'index.js'), 'exports.shout = (text) => String(text).toUpperCase() + "!"\n')
    const { bundle } = await compile(
      `import { handler, Response } from '@edgeforge/sdk'
import { shout } from 'tiny-dep'
export default handler((req) => Response.text(200, shout(req.queryParam('word') ?? 'hey')))
`,
      { 'tiny-dep': `file:${dir}` },
    )
    const loaded = loadBundle(bundle, { filename: 'edgeforge:endpoint/shout@v1.js', sdk, console })
    const response = await asHandler(loaded.definition).fn(request('word=edge'), context())
    assert.ok(response instanceof sdk.Response)
    assert.equal(response.body, 'EDGE!')
  })

  test('200 versions loaded one after another leave only the latest in memory after GC', async () => {
    const compiled = await compiler.compile({
      source:
        'const ballast = new Uint8Array(1024 * 1024).fill(1)\nexport default { size: () => ballast.length }\n',
      filename: 'ballast.ts',
      dependencies: {},
    })
    assert.ok(compiled.ok, JSON.stringify(compiled))
    const bundleFile = join(root, 'ballast.js')
    writeFileSync(bundleFile, compiled.bundle)
    const script = join(root, 'memory.mjs')
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs'
import { loadBundle } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'load.ts')).href)}
const bundle = readFileSync(${JSON.stringify(bundleFile)}, 'utf8')
const keepAll = process.argv[2] === 'keep-all'
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}
const baseline = await settle()
const kept = []
let latest
for (let version = 1; version <= 200; version++) {
  // Each version is a distinct script, as a redeploy's would be.
  latest = loadBundle(bundle + '\\n// version ' + version, { filename: 'edgeforge:endpoint/ballast@v' + version + '.js', sdk: {}, console })
  if (keepAll) kept.push(latest)
  if (latest.definition.size() !== 1024 * 1024) throw new Error('bad ballast')
}
const after = await settle()
console.log(JSON.stringify({ growthMb: (after - baseline) / 1024 / 1024, alive: latest.definition.size(), kept: kept.length }))
`,
    )
    const measure = async (mode: string) => {
      const { stdout } = await run(process.execPath, ['--expose-gc', script, mode], { cwd: root })
      return JSON.parse(stdout) as { growthMb: number; alive: number; kept: number }
    }
    const latestOnly = await measure('keep-latest')
    assert.ok(
      latestOnly.growthMb < 60,
      `keeping only the latest version grew memory by ${latestOnly.growthMb} MB`,
    )
    // The control: the same measurement sees the leak when every version stays referenced.
    const all = await measure('keep-all')
    assert.equal(all.kept, 200)
    assert.ok(all.growthMb > 150, `keeping all versions grew memory by only ${all.growthMb} MB`)
  })
})
