import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cleanEnv, spawnServe } from './support/child.ts'
import { edgeforge } from './support/cli.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

// The README tour's hello.ts (readme-tour.test.ts checks that the README shows this very file).
const HELLO = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'examples', 'tour', 'hello.ts'),
  'utf8',
)

test('the edgeforge CLI against a running server', async (t) => {
  const srv = await startTestServer(t)
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'hello.ts')
  const cli = (...args: string[]) => edgeforge([...args, '--url', srv.controlUrl], dir)
  const hello = async (name: string, requestId?: string) => {
    const response = await fetch(`${srv.gatewayUrl}/hello?name=${name}`, {
      headers: requestId ? { 'x-request-id': requestId } : {},
    })
    assert.equal(response.status, 200)
    return response.json()
  }

  await t.test('deploy creates, compiles and starts; the gateway serves it', async () => {
    writeFileSync(file, HELLO)
    const run = await cli('deploy', 'hello.ts', '--path', '/hello', '--method', 'GET')
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /^deployed hello v1 → GET \/hello \(host \*\): compiled in [\d.]+ ms\n$/)
    assert.deepEqual(await hello('ada'), { hello: 'ada' })
  })

  await t.test('a second deploy after an edit swaps; an unchanged one reuses', async () => {
    writeFileSync(file, HELLO.replace('{ hello:', '{ hi:'))
    const run = await cli('deploy', 'hello.ts')
    assert.equal(run.code, 0, run.stderr)
    assert.match(
      run.stdout,
      /^deployed hello v2 → GET \/hello \(host \*\): compiled in [\d.]+ ms, swapped\n$/,
    )
    assert.deepEqual(await hello('ada'), { hi: 'ada' })
    const again = await cli('deploy', 'hello.ts')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, 'deployed hello v2 → GET /hello (host *): unchanged\n')
  })

  await t.test(
    'a type error prints file:line:col, the line and a caret, exits 1, and v2 keeps serving',
    async () => {
      appendFileSync(file, "const n: number = 'x'\nexport const unused = n\n")
      const lines = readFileSync(file, 'utf8').split('\n')
      const line = lines.indexOf("const n: number = 'x'") + 1
      const run = await cli('deploy', 'hello.ts')
      assert.equal(run.code, 1, run.stdout)
      assert.equal(
        run.stderr,
        [
          `hello.ts:${line}:7 error TS2322: Type 'string' is not assignable to type 'number'.`,
          `  ${line} | const n: number = 'x'`,
          `  ${' '.repeat(String(line).length)} |       ^`,
          '',
        ].join('\n'),
      )
      assert.deepEqual(await hello('ada'), { hi: 'ada' })
    },
  )

  await t.test('endpoints ls lists it with its status, version and last error', async () => {
    const run = await cli('endpoints', 'ls')
    assert.equal(run.code, 0, run.stderr)
    const [header, row, ...rest] = run.stdout.trimEnd().split('\n')
    assert.match(header, /^NAME\s+METHOD\s+PATH\s+DOMAIN\s+STATUS\s+VERSION\s+LAST ERROR$/)
    assert.match(row, /^hello\s+GET\s+\/hello\s+\*\s+running\s+v2\s+hello\.ts:\d+:7: TS2322/)
    assert.deepEqual(rest, [])
    const json = await cli('endpoints', 'ls', '--json')
    assert.equal(json.code, 0, json.stderr)
    const listed = JSON.parse(json.stdout) as Array<{
      name: string
      running_version: number
      last_error: string
    }>
    assert.deepEqual(
      listed.map((e) => [e.name, e.running_version]),
      [['hello', 2]],
    )
    // The message is longer than its column: cut after a whole word, with an ellipsis.
    const message = listed[0].last_error
    const cell = row.slice(row.indexOf('hello.ts:'))
    assert.ok(message.length > 60 && cell.length <= 60, cell)
    assert.ok(cell.endsWith('…'), cell)
    const kept = cell.slice(0, -1)
    assert.ok(message.startsWith(kept) && message[kept.length] === ' ', `${cell} cuts "${message}" mid-word`)
  })

  await t.test('logs <name> shows what the handler wrote, with request ids', async () => {
    await hello('grace', 'cli-logs-1')
    await hello('linus', 'cli-logs-2')
    const run = await cli('logs', 'hello', '--limit', '2')
    assert.equal(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 2, run.stdout)
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\S+Z INFO {2}v2 cli-logs-1 greeting grace$/)
    assert.match(lines[1], /^\S+ INFO {2}v2 cli-logs-2 greeting linus$/)
  })

  await t.test('endpoints stop, start and rm <name> change it as they say; the gateway follows', async () => {
    const status = async () => (await fetch(`${srv.gatewayUrl}/hello?name=x`)).status
    const stopped = await cli('endpoints', 'stop', 'hello')
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.equal(stopped.stdout, 'stopped hello\n')
    assert.equal(await status(), 404)
    const started = await cli('endpoints', 'start', 'hello')
    assert.equal(started.code, 0, started.stderr)
    assert.equal(started.stdout, 'started hello v2\n')
    assert.equal(await status(), 200)
    // The failed deploy's error is history once the endpoint started successfully.
    const listed = (await cli('endpoints', 'ls')).stdout.trimEnd().split('\n')[1]
    assert.match(listed, /^hello\s+GET\s+\/hello\s+\*\s+running\s+v2$/)

    writeFileSync(join(dir, 'scratch.ts'), HELLO)
    assert.equal((await cli('deploy', 'scratch.ts', '--path', '/scratch', '--method', 'GET')).code, 0)
    const removed = await cli('endpoints', 'rm', 'scratch')
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(removed.stdout, 'removed scratch\n')
    assert.equal((await fetch(`${srv.gatewayUrl}/scratch`)).status, 404)
    assert.doesNotMatch((await cli('endpoints', 'ls')).stdout, /scratch/)

    const [noName, nobody] = await Promise.all([cli('endpoints', 'stop'), cli('endpoints', 'rm', 'nobody')])
    assert.equal(noName.code, 2)
    assert.match(noName.stderr, /endpoints stop needs an endpoint name/)
    assert.equal(nobody.code, 2)
    assert.match(nobody.stderr, /no endpoint named "nobody"/)
  })

  await t.test(
    'deploy --json shows the endpoint after the deploy; a new --method alone is not "unchanged"',
    async () => {
      writeFileSync(file, HELLO.replace('{ hello:', '{ hey:'))
      const run = await cli('deploy', 'hello.ts', '--json')
      assert.equal(run.code, 0, run.stderr)
      const answer = JSON.parse(run.stdout) as {
        endpoint: { status: string; running_version: number; last_error: string | null }
        report: { running_version: number }
      }
      assert.equal(answer.report.running_version, 3)
      assert.deepEqual(
        [answer.endpoint.status, answer.endpoint.running_version, answer.endpoint.last_error],
        ['running', 3, null],
      )

      const moved = await cli('deploy', 'hello.ts', '--method', 'POST')
      assert.equal(moved.code, 0, moved.stderr)
      assert.equal(
        moved.stdout,
        'deployed hello v3 → POST /hello (host *): code unchanged, moved from GET /hello (host *)\n',
      )
      assert.equal((await fetch(`${srv.gatewayUrl}/hello?name=x`, { method: 'POST' })).status, 200)
      const again = await cli('deploy', 'hello.ts', '--method', 'POST')
      assert.equal(again.stdout, 'deployed hello v3 → POST /hello (host *): unchanged\n')
    },
  )

  await t.test('--help of every command exits 0; usage mistakes exit 2; failures exit 1', async () => {
    const [top, deploy, endpoints, logs, serve] = await Promise.all([
      edgeforge(['--help'], dir),
      edgeforge(['deploy', '--help'], dir),
      edgeforge(['endpoints', '--help'], dir),
      edgeforge(['logs', '-h'], dir),
      edgeforge(['serve', '--help'], dir),
    ])
    for (const run of [top, deploy, endpoints, logs, serve]) assert.equal(run.code, 0, run.stderr)
    assert.match(top.stdout, /^edgeforge — a self-hosted edge gateway/)
    assert.match(deploy.stdout, /^edgeforge deploy — .*\n[\s\S]*--path <path>[\s\S]*--method <method>/)
    assert.match(endpoints.stdout, /^edgeforge endpoints — list, stop, start and remove endpoints/)
    assert.match(logs.stdout, /^edgeforge logs — [\s\S]*--limit <n>/)
    assert.match(serve.stdout, /^edgeforge serve — [\s\S]*EDGEFORGE_ADMIN_TOKEN/)
    // Where the other commands look for the control plane, and how to point them elsewhere.
    assert.match(
      serve.stdout,
      /http:\/\/127\.0\.0\.1:9081[\s\S]*EDGEFORGE_URL=http:\/\/127\.0\.0\.1:\d+[\s\S]*--url/,
    )

    const [unknown, noPath, noEndpoint, unreachable] = await Promise.all([
      edgeforge(['frobnicate'], dir),
      cli('deploy', 'hello.ts', '--name', 'fresh'),
      cli('logs', 'nobody'),
      edgeforge(['endpoints', 'ls', '--url', 'http://127.0.0.1:9'], dir),
    ])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^edgeforge: unknown command "frobnicate"/)
    assert.equal(noPath.code, 2)
    assert.match(noPath.stderr, /endpoint "fresh" does not exist yet: give --path and --method/)
    assert.equal(noEndpoint.code, 2)
    assert.match(noEndpoint.stderr, /no endpoint named "nobody"/)
    assert.equal(unreachable.code, 1)
    assert.match(unreachable.stderr, /cannot reach the edgeforge control plane at http:\/\/127\.0\.0\.1:9/)
  })
})

test('serve on another control port prints the EDGEFORGE_URL the CLI then needs, and the CLI uses it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-cli-url-'))
  const server = await spawnServe(dataDir)
  t.after(async () => {
    server.child.kill('SIGTERM')
    await server.exited
    rmSync(dataDir, { recursive: true, force: true })
  })
  const hint = await waitFor(
    'the EDGEFORGE_URL hint',
    () => /set EDGEFORGE_URL=(\S+) /.exec(server.stderr())?.[1],
  )
  assert.equal(hint, server.controlUrl)
  const run = await edgeforge(['endpoints', 'ls'], dataDir, { ...cleanEnv(), EDGEFORGE_URL: hint })
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout, /^no endpoints yet/)
})
