import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type CompileResult, Compiler } from './index.ts'
import { INSTALL_MARKER } from './install.ts'

const HELLO = `import { handler, Response } from '@edgeforge/sdk'
export default handler(async (req, ctx) => Response.ok({ hello: req.queryParam('name') ?? 'world' }))
`

function failed(result: CompileResult): Extract<CompileResult, { ok: false }> {
  assert.equal(result.ok, false, 'expected the compile to fail')
  return result as Extract<CompileResult, { ok: false }>
}

function succeeded(result: CompileResult): Extract<CompileResult, { ok: true }> {
  assert.ok(result.ok, `expected the compile to succeed: ${JSON.stringify(result)}`)
  return result
}

/** A tiny package folder for `file:` dependencies. */
function makeTinyPackage(root: string, name: string, body: string): string {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }))
  writeFileSync(join(dir, 'index.js'), body)
  return dir
}

/** An npm that records each run in `log` before handing over to the real one. */
function countingNpm(root: string): { command: string; runs: () => number } {
  const log = join(root, 'npm-runs.log')
  const command = join(root, 'counting-npm.sh')
  writeFileSync(command, `#!/bin/sh\necho "$PWD" >> '${log}'\nexec npm "$@"\n`)
  chmodSync(command, 0o755)
  return {
    command,
    runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').length : 0),
  }
}

describe('Compiler', () => {
  let root: string
  let compiler: Compiler
  let npm: ReturnType<typeof countingNpm>

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'edgeforge-build-'))
    npm = countingNpm(root)
    compiler = new Compiler({ cacheDir: join(root, 'cache'), npmCommand: npm.command })
  })

  after(() => {
    compiler.close()
    rmSync(root, { recursive: true, force: true })
  })

  test('compiles the hello handler into CommonJS that requires the SDK instead of bundling it', async () => {
    const result = succeeded(
      await compiler.compile({ source: HELLO, filename: 'hello.ts', dependencies: {} }),
    )
    assert.match(result.bundle, /require\("@edgeforge\/sdk"\)/)
    assert.doesNotMatch(result.bundle, /class Response|class HandlerError|DEFINITION_BRAND/)
    assert.match(result.bundle, /module\.exports/)
    const map = JSON.parse(result.sourceMap) as { sources: string[] }
    assert.deepEqual(map.sources, ['hello.ts'])
    assert.deepEqual(result.diagnostics, [])
    assert.equal(result.timings.installMs >= 0 && result.timings.typeCheckMs > 0, true)
    assert.equal(
      existsSync(join(root, 'cache', 'deps', 'none', 'node_modules')),
      false,
      'nothing was installed',
    )
  })

  test('a type error fails the typecheck stage with its line, column and code', async () => {
    const source = `import { handler, Response } from '@edgeforge/sdk'

const n: number = 'x'
export default handler(() => Response.ok(n))
`
    const result = failed(await compiler.compile({ source, filename: 'typed.ts', dependencies: {} }))
    assert.equal(result.stage, 'typecheck')
    assert.equal(result.diagnostics.length, 1)
    const [diagnostic] = result.diagnostics
    assert.equal(diagnostic.code, 'TS2322')
    assert.equal(diagnostic.file, 'typed.ts')
    assert.equal(diagnostic.line, 3)
    assert.equal(diagnostic.column, 7)
    assert.equal(diagnostic.lineText, "const n: number = 'x'")
    assert.match(diagnostic.message, /not assignable to type 'number'/)
  })

  test('the handler is checked against the SDK types: a wrong return type is an error', async () => {
    const source = `import { handler } from '@edgeforge/sdk'
export default handler(async (req) => req.queryParam('x'))
`
    const result = failed(await compiler.compile({ source, filename: 'wrong.ts', dependencies: {} }))
    assert.equal(result.stage, 'typecheck')
    assert.equal(result.diagnostics[0].line, 2)
  })

  test('web and node globals type-check (fetch, URL, TextEncoder, Buffer, node:crypto)', async () => {
    const source = `import { createHash } from 'node:crypto'
import { handler, Response } from '@edgeforge/sdk'
export default handler(async (req) => {
  const url = new URL(req.path, 'http://localhost')
  const bytes = new TextEncoder().encode(url.pathname)
  const digest = createHash('sha256').update(Buffer.from(bytes)).digest('hex')
  const probe: typeof fetch = fetch
  return Response.ok({ digest, probe: typeof probe })
})
`
    const result = succeeded(await compiler.compile({ source, filename: 'globals.ts', dependencies: {} }))
    assert.match(result.bundle, /require\("node:crypto"\)/)
  })

  test('a syntax error is reported once, with its line, by the type checker', async () => {
    const source = `import { handler, Response } from '@edgeforge/sdk'
export default handler(() => {
  const x = (1 +
  return Response.ok(x)
})
`
    const result = failed(await compiler.compile({ source, filename: 'broken.ts', dependencies: {} }))
    assert.equal(result.stage, 'typecheck')
    assert.equal(result.diagnostics.length, 1)
    assert.equal(result.diagnostics[0].line, 4)
    assert.equal(result.diagnostics[0].file, 'broken.ts')
  })

  test('without type checking, the bundler reports the syntax error with line, column and text', async () => {
    const unchecked = new Compiler({ cacheDir: join(root, 'cache'), typeCheck: false })
    try {
      const source = `import { handler, Response } from '@edgeforge/sdk'
export default handler(() => {
  const x = 1 +* 2
  return Response.ok(x)
})
`
      const result = failed(await unchecked.compile({ source, filename: 'broken.ts', dependencies: {} }))
      assert.equal(result.stage, 'bundle')
      assert.equal(result.diagnostics.length, 1)
      assert.deepEqual(
        {
          line: result.diagnostics[0].line,
          column: result.diagnostics[0].column,
          file: result.diagnostics[0].file,
        },
        { line: 3, column: 16, file: 'broken.ts' },
      )
      assert.equal(result.diagnostics[0].lineText, '  const x = 1 +* 2')
    } finally {
      unchecked.close()
    }
  })

  test('bundler columns count characters, not UTF-8 bytes', async () => {
    const unchecked = new Compiler({ cacheDir: join(root, 'cache'), typeCheck: false })
    try {
      const source = `const greeting = 'héllo wörld'; import pad from 'left-pad'\nconsole.log(greeting, pad)\n`
      const result = failed(await unchecked.compile({ source, filename: 'utf.ts', dependencies: {} }))
      assert.equal(result.diagnostics[0].line, 1)
      assert.equal(result.diagnostics[0].column, source.indexOf("'left-pad'") + 1)
    } finally {
      unchecked.close()
    }
  })

  test('importing a package that is not in the dependencies fails to resolve, with its line', async () => {
    const source = `import { handler, Response } from '@edgeforge/sdk'

import leftPad from 'left-pad'
export default handler(() => Response.ok(leftPad('x', 3)))
`
    const result = failed(await compiler.compile({ source, filename: 'unlisted.ts', dependencies: {} }))
    assert.equal(result.stage, 'bundle')
    assert.equal(result.diagnostics.length, 1)
    const [diagnostic] = result.diagnostics
    assert.match(diagnostic.message, /^Could not resolve "left-pad"/)
    assert.match(diagnostic.message, /not in this endpoint's dependencies/)
    assert.equal(diagnostic.line, 3)
    assert.equal(diagnostic.column, 21)
  })

  test('relative imports are refused: a handler is one file', async () => {
    const source = `import { secret } from '../../../etc/config.ts'\nconsole.log(secret)\n`
    const result = failed(await compiler.compile({ source, filename: 'relative.ts', dependencies: {} }))
    assert.equal(result.stage, 'bundle')
    assert.match(
      result.diagnostics[0].message,
      /Could not resolve "\.\.\/\.\.\/\.\.\/etc\/config\.ts": a handler is a single file/,
    )
    assert.equal(result.diagnostics[0].line, 1)
  })

  test('invalid dependency names and versions are refused before anything runs', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ '../../etc': '1.0.0' }, /not a valid npm package name/],
      [{ 'left-pad; rm -rf /': '1.0.0' }, /not a valid npm package name/],
      [{ 'left-pad': '$(touch /tmp/pwned)' }, /unsupported version/],
      [{ 'left-pad': 'git+ssh://git@example.com/x.git' }, /unsupported version/],
      [{ 'left-pad': 'github:user/repo' }, /unsupported version/],
      [{ 'left-pad': 'file:relative/path' }, /absolute path/],
      [{ 'left-pad': 'file:/tmp/../etc' }, /normalized/],
      [{ 'left-pad': `file:${join(root, 'no-such-package')}` }, /not a package folder/],
      [{ '@edgeforge/sdk': '1.0.0' }, /supplied by the gateway/],
    ]
    for (const [dependencies, expected] of cases) {
      const result = failed(await compiler.compile({ source: HELLO, filename: 'hello.ts', dependencies }))
      assert.equal(result.stage, 'install', JSON.stringify(dependencies))
      assert.match(result.diagnostics[0].message, expected)
    }
    assert.equal(npm.runs(), 0, 'npm never ran')
  })

  test('invalid filenames are refused', async () => {
    for (const filename of ['', '../hello.ts', '/etc/hello.ts', 'a/./b.ts', 'bad\nname.ts', 'c:\\x.ts']) {
      const result = failed(await compiler.compile({ source: HELLO, filename, dependencies: {} }))
      assert.match(result.diagnostics[0].message, /filename/)
    }
  })

  test('a file: dependency installs once per set, also across compilers, and bundles into the handler', async () => {
    const shout = makeTinyPackage(root, 'tiny-dep', 'exports.shout = (text) => text.toUpperCase() + "!"\n')
    const dependencies = { 'tiny-dep': `file:${shout}` }
    const source = `import { handler, Response } from '@edgeforge/sdk'
import { shout } from 'tiny-dep'
export default handler(() => Response.ok({ said: shout('hi') }))
`
    const before = npm.runs()
    const first = succeeded(await compiler.compile({ source, filename: 'shout.ts', dependencies }))
    assert.equal(npm.runs(), before + 1)
    assert.match(first.bundle, /toUpperCase/, 'the dependency is bundled')
    const second = succeeded(await compiler.compile({ source, filename: 'other.ts', dependencies }))
    assert.equal(npm.runs(), before + 1, 'the second endpoint reuses the install')
    assert.match(second.bundle, /toUpperCase/)

    const restarted = new Compiler({
      cacheDir: join(root, 'cache'),
      npmCommand: npm.command,
      typeCheck: false,
    })
    try {
      succeeded(await restarted.compile({ source, filename: 'again.ts', dependencies }))
      assert.equal(npm.runs(), before + 1, 'a restarted compiler reuses the marked install')
    } finally {
      restarted.close()
    }
    const depsDirs = readdirSync(join(root, 'cache', 'deps')).filter((name) => name !== 'none')
    assert.equal(depsDirs.length, 1, `one folder per set, no staging leftovers: ${depsDirs}`)
    assert.ok(existsSync(join(root, 'cache', 'deps', depsDirs[0], INSTALL_MARKER)))
  })

  test('concurrent compiles of a new dependency set share one install', async () => {
    const one = makeTinyPackage(root, 'dep-one', 'exports.one = 1\n')
    const two = makeTinyPackage(root, 'dep-two', 'exports.two = 2\n')
    const dependencies = { 'dep-two': `file:${two}`, 'dep-one': `file:${one}` }
    const source = `import { one } from 'dep-one'\nimport { two } from 'dep-two'\nexport default one + two\n`
    const before = npm.runs()
    const results = await Promise.all(
      ['a.ts', 'b.ts', 'c.ts'].map((filename) => compiler.compile({ source, filename, dependencies })),
    )
    for (const result of results) succeeded(result)
    assert.equal(npm.runs(), before + 1)
    // The same set written in another order is the same set.
    const reordered = { 'dep-one': `file:${one}`, 'dep-two': `file:${two}` }
    succeeded(await compiler.compile({ source, filename: 'd.ts', dependencies: reordered }))
    assert.equal(npm.runs(), before + 1)
  })

  test('a package missing from the registry fails the install stage and names the package', async () => {
    const dependencies = { 'edgeforge-surely-missing-pkg-9f3a': '1.0.0' }
    const result = failed(await compiler.compile({ source: HELLO, filename: 'hello.ts', dependencies }))
    assert.equal(result.stage, 'install')
    assert.equal(result.diagnostics.length, 1)
    const [diagnostic] = result.diagnostics
    assert.match(diagnostic.message, /edgeforge-surely-missing-pkg-9f3a@1\.0\.0/)
    assert.match(diagnostic.message, /not found|404/i)
    assert.doesNotMatch(diagnostic.message, /complete log|npm warn|tarball, folder/)
    assert.equal(diagnostic.code, 'E404')
    const leftovers = readdirSync(join(root, 'cache', 'deps')).filter((name) => name.includes('.tmp-'))
    assert.deepEqual(leftovers, [], 'the failed install leaves no staging folder')
  })
})
