import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type DependencySet,
  isImportAllowed,
  packageNameOf,
  resolveDependencySet,
  summarizeNpmFailure,
} from './deps.ts'

function setOf(dependencies: Record<string, string>): DependencySet {
  const resolved = resolveDependencySet(dependencies)
  assert.ok(resolved.ok, JSON.stringify(resolved))
  return resolved.set
}

describe('dependency sets', () => {
  test('equal sets hash equally whatever their order; different sets differ; empty sets install nothing', () => {
    const a = setOf({ zod: '^3.0.0', 'left-pad': '1.3.0', '@scope/pkg': 'latest' })
    const b = setOf({ '@scope/pkg': 'latest', 'left-pad': '1.3.0', zod: '^3.0.0' })
    const c = setOf({ '@scope/pkg': 'latest', 'left-pad': '1.3.1', zod: '^3.0.0' })
    assert.equal(a.hash, b.hash)
    assert.notEqual(a.hash, c.hash)
    assert.match(a.hash, /^[0-9a-f]{24}$/)
    assert.deepEqual(
      a.entries.map(([name]) => name),
      ['@scope/pkg', 'left-pad', 'zod'],
    )
    assert.equal(setOf({}).hash, '')
  })

  test('accepts semver ranges, dist-tags and npm: aliases', () => {
    setOf({
      a: '^1.2.3',
      b: '>=1.0.0 <2 || 3.x',
      c: 'latest',
      d: '*',
      e: 'npm:left-pad@^1.3.0',
      f: '1.0.0-beta.1',
    })
  })

  test('lists every invalid entry', () => {
    const resolved = resolveDependencySet({
      'Bad Name': '1',
      ok: '1.0.0',
      'also-bad': 'https://example.com/x.tgz',
    })
    assert.equal(resolved.ok, false)
    if (resolved.ok) return
    assert.equal(resolved.diagnostics.length, 2)
    assert.match(resolved.diagnostics[0].message, /"Bad Name"/)
    assert.match(resolved.diagnostics[1].message, /"also-bad".*unsupported version/)
  })

  test('handler imports: the SDK, builtins and listed packages (with subpaths) only', () => {
    const names = new Set(['lodash', '@scope/pkg'])
    assert.equal(packageNameOf('lodash/fp'), 'lodash')
    assert.equal(packageNameOf('@scope/pkg/sub/path'), '@scope/pkg')
    assert.equal(packageNameOf('./local.ts'), undefined)
    for (const allowed of ['@edgeforge/sdk', 'node:fs', 'fs', 'lodash', 'lodash/fp', '@scope/pkg/x']) {
      assert.equal(isImportAllowed(allowed, names), true, allowed)
    }
    for (const refused of [
      'left-pad',
      '@scope/other',
      './x.ts',
      '../x',
      '/etc/passwd',
      'data:text/javascript,1',
    ]) {
      assert.equal(isImportAllowed(refused, names), false, refused)
    }
  })
})

describe('npm failures', () => {
  test('keep the reason and the culprit, drop the noise', () => {
    const stderr = `npm warn Unknown user config "nodedir". This will stop working in the next major version of npm.
npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/edgeforge-surely-missing-pkg-9f3a
npm error 404
npm error 404  The requested resource 'edgeforge-surely-missing-pkg-9f3a@1.0.0' could not be found or you do not have permission to access it.
npm error 404
npm error 404 Note that you can also install from a
npm error 404 tarball, folder, http url, or git url.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-22T02_53_08_290Z-debug-0.log
`
    const set = setOf({ 'edgeforge-surely-missing-pkg-9f3a': '1.0.0', edgeforge: '1.0.0' })
    const diagnostic = summarizeNpmFailure(stderr, set, 1)
    assert.equal(diagnostic.code, 'E404')
    assert.equal(
      diagnostic.message,
      'npm could not install edgeforge-surely-missing-pkg-9f3a@1.0.0: Not Found - GET https://registry.npmjs.org/edgeforge-surely-missing-pkg-9f3a; ' +
        "The requested resource 'edgeforge-surely-missing-pkg-9f3a@1.0.0' could not be found or you do not have permission to access it.",
    )
  })

  test('an unknown version names the package too', () => {
    const stderr = `npm error code ETARGET
npm error notarget No matching version found for left-pad@99.0.0.
npm error notarget In most cases you or one of your dependencies are requesting a package version that doesn't exist.
npm error A complete log of this run can be found in: /root/.npm/_logs/x.log
`
    const diagnostic = summarizeNpmFailure(stderr, setOf({ 'left-pad': '99.0.0', pad: '1.0.0' }), 1)
    assert.equal(
      diagnostic.message,
      'npm could not install left-pad@99.0.0: No matching version found for left-pad@99.0.0.',
    )
    assert.equal(diagnostic.code, 'ETARGET')
  })

  test('output without npm error lines still says something', () => {
    const diagnostic = summarizeNpmFailure('', setOf({ a: '1.0.0' }), 137)
    assert.equal(diagnostic.message, 'npm could not install a@1.0.0: npm exited with code 137')
  })
})
