import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Script } from 'node:vm'
import { Compiler, mapStack } from './index.ts'

// V8 reports the throw at the `new Error` of line 5 (column 9) and the call at `fail` of line 8 (column 10).
const THROWING = `// a handler that fails on line 5
export function fail(reason: string): never {
  const detail: string = reason.toUpperCase()
  void detail
  throw new Error(\`failed: \${reason}\`)
}
export function boom(): never {
  return fail('boom')
}
`

type Exports = { boom: () => never }

function evaluate(bundle: string, filename: string, wrapperLines: number): Exports {
  const head = `(function (exports, require, module) {${'\n'.repeat(wrapperLines)}`
  const module = { exports: {} as Exports }
  const wrapper = new Script(`${head}${bundle}\n})`, { filename }).runInThisContext() as (
    exports: unknown,
    require: unknown,
    module: unknown,
  ) => void
  wrapper(module.exports, () => undefined, module)
  return module.exports
}

function stackOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    return (error as Error).stack ?? ''
  }
  assert.fail('expected a throw')
}

describe('mapStack', () => {
  let root: string
  let bundle: string
  let sourceMap: string

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'edgeforge-stack-'))
    const compiler = new Compiler({ cacheDir: root, typeCheck: false })
    const result = await compiler.compile({ source: THROWING, filename: 'hello.ts', dependencies: {} })
    compiler.close()
    assert.ok(result.ok, JSON.stringify(result))
    bundle = result.bundle
    sourceMap = result.sourceMap
  })

  after(() => rmSync(root, { recursive: true, force: true }))

  for (const wrapperLines of [0, 1, 3]) {
    test(`maps frames of the bundle to hello.ts lines with a ${wrapperLines}-line wrapper`, () => {
      const filename = `edgeforge:endpoint/hello@v${wrapperLines}.js`
      const exports = evaluate(bundle, filename, wrapperLines)
      const raw = stackOf(() => exports.boom())
      assert.match(raw, new RegExp(`${filename.replace(/[.@]/g, '\\$&')}:\\d+:\\d+`))
      assert.doesNotMatch(raw, /hello\.ts/, 'node does not map vm.Script frames by itself')
      const mapped = mapStack(raw, filename, sourceMap, wrapperLines)
      const frames = mapped.split('\n').slice(1)
      assert.match(frames[0], /at fail \(hello\.ts:5:9\)$/)
      assert.match(frames[1], /at Object\.boom \(hello\.ts:8:10\)$|at boom \(hello\.ts:8:10\)$/)
      assert.equal(mapped.includes(filename), false, 'every frame of the bundle is mapped')
      // Frames elsewhere (this test file, node internals) are left exactly as they were.
      const foreign = (stack: string) => stack.split('\n').filter((line) => line.includes('stack.test.ts'))
      assert.deepEqual(foreign(mapped), foreign(raw))
      assert.ok(foreign(raw).length > 0)
    })
  }

  test('positions the map does not cover (inside the wrapper lines) stay as they are', () => {
    const filename = 'edgeforge:endpoint/offset.js'
    const exports = evaluate(bundle, filename, 0)
    const raw = stackOf(() => exports.boom())
    assert.doesNotMatch(mapStack(raw, filename, sourceMap, 0), /offset\.js/)
    assert.equal(mapStack(raw, filename, sourceMap, 500), raw)
  })

  test('stacks of other files and unusable maps come back unchanged', () => {
    const stack = 'Error: x\n    at f (file:///srv/app.js:1:2)'
    assert.equal(mapStack(stack, 'edgeforge:endpoint/a.js', sourceMap, 0), stack)
    const own = 'Error: x\n    at f (edgeforge:endpoint/a.js:1:2)'
    assert.equal(mapStack(own, 'edgeforge:endpoint/a.js', 'not json', 0), own)
  })
})
