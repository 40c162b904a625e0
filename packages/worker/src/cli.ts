import { randomUUID } from 'node:crypto'
import { homedir, hostname } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Agent } from './agent.ts'

const HELP = `edgeforge-worker — run a queue's jobs on this machine

  edgeforge-worker --url http://gw.example.com:9081 --queue builds [--queue other] [--concurrency 4]

  --url URL            the control plane (EDGEFORGE_URL; default http://127.0.0.1:9081)
  --queue NAME         a queue to work; repeat or comma-separate for several
  --concurrency N      jobs at once (default 1); the server never pushes more
  --handler FILE       run this file's default export job(…) instead of the deployed handler
  --id ID              worker id (default <host>-<pid>-<random>); stable across reconnects
  --group NAME         a label for GET /workers
  --cache-dir DIR      where fetched handler versions are kept (default ~/.cache/edgeforge-worker)
  --log-buffer N       unacknowledged log lines kept over all jobs (default 100000); past it lines are dropped and counted
  --drain-timeout S    on SIGTERM/SIGINT, seconds running jobs may take to finish (default 30)

  The credential is EDGEFORGE_TOKEN (the admin token today), sent as Authorization: Bearer.
`

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    queue: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    handler: { type: 'string' },
    id: { type: 'string' },
    group: { type: 'string' },
    'cache-dir': { type: 'string' },
    'log-buffer': { type: 'string' },
    'drain-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})

function usage(message: string): never {
  process.stderr.write(`edgeforge-worker: ${message}\n\n${HELP}`)
  process.exit(2)
}

function whole(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min)
    usage(`--${name} is a whole number of at least ${min} (got ${text})`)
  return value
}

if (values.help) {
  process.stdout.write(HELP)
  process.exit(0)
}
const queues = (values.queue ?? []).flatMap((queue) => queue.split(',')).filter(Boolean)
if (queues.length === 0) usage('say which queue to work with --queue')

const agent = new Agent({
  url: values.url ?? process.env.EDGEFORGE_URL ?? 'http://127.0.0.1:9081',
  token: process.env.EDGEFORGE_TOKEN ?? '',
  queues,
  concurrency: whole(values.concurrency, 'concurrency', 1, 1),
  workerId: values.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
  group: values.group,
  cacheDir: values['cache-dir'] ?? join(homedir(), '.cache', 'edgeforge-worker'),
  handlerFile: values.handler,
  maxBufferedLines: whole(values['log-buffer'], 'log-buffer', 100_000, 1),
})
const drainMs = whole(values['drain-timeout'], 'drain-timeout', 30, 0) * 1000

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  void agent.stop(drainMs).then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
agent.done.catch(() => process.exit(1))
agent.start()
