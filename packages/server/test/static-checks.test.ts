// `npm run typecheck` and `npm run lint` as part of the test suite, so CI (which runs the README's
// test command) fails on a type error or a lint finding like on any other broken test.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const run = promisify(execFile)

async function check(script: string, args: string[]): Promise<void> {
  try {
    await run(process.execPath, [join(ROOT, 'node_modules', script), ...args], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    assert.fail(`${script} ${args.join(' ')} failed:\n${stdout}${stderr}`)
  }
}

test('the whole project type-checks (tsc -p tsconfig.json)', { timeout: 120_000 }, async () => {
  await check('typescript/bin/tsc', ['-p', 'tsconfig.json', '--noEmit'])
})

// The project's folders rather than '.': files a user writes at the top while following the README
// tour (hello.ts, …) are theirs, not the project's.
test('the project passes Biome (lint and format)', { timeout: 60_000 }, async () => {
  await check('@biomejs/biome/bin/biome', ['check', 'packages', 'bench', 'examples'])
})
