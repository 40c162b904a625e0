// The README's five-minute tour, kept true: the files it writes with `cat > x.ts <<'TS'` are the
// ones in examples/tour/ (so they are type-checked and linted with the project), and its job
// steps work as written: deploy with the CLI, one POST to the gateway, the job succeeds. The CLI
// it shows is the clone's ./edgeforge script, never npx (which could fetch a stranger's package),
// and its quick start's other ports are settings the server takes.
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../src/config.ts'
import { edgeforgeScript, SCRIPT } from './support/cli.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const TOUR = join(ROOT, 'examples', 'tour')

/** The files the README's shell snippets create, by name. */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const files = new Map<string, string>()
  for (const [, name, body] of readme.matchAll(/cat > (\S+\.ts) <<'TS'\n([\s\S]*?\n)TS\n/g)) {
    files.set(name, body)
  }
  return files
}

test('every file the README tour writes is in examples/tour, byte for byte, and nothing else is', () => {
  const shown = readmeFiles()
  assert.deepEqual([...shown.keys()].sort(), readdirSync(TOUR).sort())
  for (const [name, body] of shown) {
    assert.equal(
      body,
      readFileSync(join(TOUR, name), 'utf8'),
      `README's ${name} differs from examples/tour/${name}`,
    )
  }
})

interface Job {
  status: string
  result: unknown
  logs: Array<{ line: string }>
}

/** The README's `./edgeforge …` command that starts with `start` (its arguments, comment dropped). */
function readmeCommand(start: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const line = readme.split('\n').find((l) => l.startsWith(`./edgeforge ${start}`))
  assert.ok(line, `the README shows no "./edgeforge ${start}" command`)
  return line.replace(/#.*$/, '').trim().split(/\s+/).slice(1)
}

test('the README, docs and examples run the CLI as the clone’s ./edgeforge, never through npx', async () => {
  const pages = [
    'README.md',
    'examples/README.md',
    ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`),
  ]
  for (const page of pages.filter((p) => p.endsWith('.md'))) {
    const text = readFileSync(join(ROOT, page), 'utf8')
    assert.doesNotMatch(text, /npx\s+edgeforge/, `${page} runs the CLI through npx`)
  }
  // As the tour says: ./edgeforge in the clone, on a PATH whose node may be older than 24.
  const here = await edgeforgeScript(['--help'], ROOT)
  assert.equal(here.code, 0, here.stderr)
  assert.match(here.stdout, /^edgeforge — /)
  assert.equal(SCRIPT, join(ROOT, 'edgeforge'))
})

test('the quick start’s other ports are real settings, and it gives the EDGEFORGE_URL they need', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = /`npm start -- ([^`]+)`/.exec(readme)
  assert.ok(start, 'the quick start shows no "npm start -- <options>"')
  const args = start[1].split(/\s+/)
  const flags: Record<string, string> = {}
  for (let i = 0; i < args.length; i += 2) flags[args[i].replace(/^--/, '')] = args[i + 1]
  const config = loadConfig({}, flags)
  const defaults = loadConfig({}, {})
  assert.notEqual(config.gatewayPort, defaults.gatewayPort)
  assert.notEqual(config.controlPort, defaults.controlPort)
  assert.ok(
    readme.includes(`export EDGEFORGE_URL=http://127.0.0.1:${config.controlPort}`),
    'the quick start does not say which EDGEFORGE_URL the CLI then needs',
  )
})

test('the tour’s job steps: deploy a job handler and the signup endpoint, sign up, the job succeeds', async (t) => {
  const srv = await startTestServer(t)
  // The README's own commands, by the script's full path from a folder outside the clone that
  // holds the tour's files (the README: "from another folder, call it by its full path").
  const folder = mkdtempSync(join(tmpdir(), 'edgeforge-tour-'))
  t.after(() => rmSync(folder, { recursive: true, force: true }))
  cpSync(TOUR, folder, { recursive: true })
  const cli = (args: string[]) => edgeforgeScript([...args, '--url', srv.controlUrl], folder)

  const worker = await cli(readmeCommand('deploy send-welcome.ts'))
  assert.equal(worker.code, 0, worker.stderr)
  assert.match(worker.stdout, /^deployed send-welcome v1 → queue emails/)
  const signup = await cli(readmeCommand('deploy signup.ts'))
  assert.equal(signup.code, 0, signup.stderr)

  const reply = await fetch(`${srv.gatewayUrl}/signup`, {
    method: 'POST',
    body: JSON.stringify({ email: 'ada@example.com' }),
  })
  assert.equal(reply.status, 202)
  const { job_id: jobId } = (await reply.json()) as { job_id: string }

  const job = await waitFor(
    'the signup job to finish',
    async () => {
      const seen = (await srv.api<Job>('GET', `/jobs/${jobId}`)).body.data
      return seen.status === 'queued' || seen.status === 'running' ? undefined : seen
    },
    10_000,
  )
  assert.equal(job.status, 'succeeded', JSON.stringify(job))
  assert.deepEqual(job.result, { sent: true })
  assert.deepEqual(
    job.logs.map((entry) => entry.line),
    ['sending to ada@example.com'],
  )
})

test('the tour’s services step: create two services, deploy with --service, the handler counts', async (t) => {
  const srv = await startTestServer(t)
  const cli = (...args: string[]) => edgeforgeScript([...args, '--url', srv.controlUrl], TOUR)
  for (const args of [
    ['services', 'create', 'main-db', '--type', 'sqlite', '--config', 'path=shop.db'],
    ['services', 'create', 'sessions', '--type', 'memory'],
    ['services', 'test', 'main-db'],
    [
      'deploy',
      'visits.ts',
      '--path',
      '/visits/{page}',
      '--method',
      'GET',
      '--service',
      'db=main-db',
      '--service',
      'cache=sessions',
    ],
  ]) {
    const run = await cli(...args)
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
  }
  assert.deepEqual(await (await fetch(`${srv.gatewayUrl}/visits/home`)).json(), {
    page: 'home',
    visits: 1,
    total: 1,
  })
  assert.deepEqual(await (await fetch(`${srv.gatewayUrl}/visits/about`)).json(), {
    page: 'about',
    visits: 1,
    total: 2,
  })
})
