import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { clientOf, withHint } from './client.ts'
import { table } from './print.ts'

export const QUEUES_HELP = `edgeforge queues — the job queues

Usage:
  edgeforge queues ls [--json]        every queue: counts by status, live workers, paused
  edgeforge queues pause <name>       no new job of it starts (it still takes enqueues)
  edgeforge queues resume <name>

Options:
  --json           print the server's answer as JSON
${CLIENT_SETTINGS_HELP}`

export async function queuesCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const ef = clientOf(loadClientSettings(process.env, flags))
  const sub = positionals[0] ?? 'ls'
  const json = flags.json !== undefined
  try {
    if (sub === 'ls' || sub === 'list') {
      const { data: queues } = await ef.queues.list()
      if (json) console.log(JSON.stringify(queues, null, 2))
      else
        console.log(
          table(
            ['QUEUE', 'QUEUED', 'RUNNING', 'FAILED', 'WORKERS', 'PAUSED'],
            queues.map((q) => {
              const counts = q.counts as Record<string, number>
              return [
                q.queue,
                String(counts.queued ?? 0),
                String(counts.running ?? 0),
                String(counts.failed ?? 0),
                String(q.live_workers),
                q.settings.paused ? 'yes' : '',
              ]
            }),
          ),
        )
      return 0
    }
    if (sub === 'pause' || sub === 'resume') {
      const name = positionals[1]
      if (!name) throw new UsageError(`queues ${sub} needs a queue name: edgeforge queues ${sub} emails`)
      // Setting a state, not toggling it: safe to repeat, so the client retries it like a PUT.
      const { data: settings } = await ef.queues.setPaused(
        name,
        { paused: sub === 'pause' },
        { retryable: true },
      )
      if (json) console.log(JSON.stringify(settings, null, 2))
      else console.log(`${sub === 'pause' ? 'paused' : 'resumed'} ${name}`)
      return 0
    }
  } catch (error) {
    throw withHint(error)
  }
  throw new UsageError(`unknown subcommand "queues ${sub}"; try ls, pause or resume`)
}
