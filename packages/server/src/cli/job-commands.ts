import { loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { clientOf, withHint } from './client.ts'
import { clip, table } from './print.ts'

export const JOB_COMMANDS_HELP = `  edgeforge jobs ls [--queue <q>] [--status <s>] [--limit <n>] [--json]
                                  newest last; --status queued|running|succeeded|failed|cancelled…
  edgeforge jobs show <id>        one job with its payload, result and last error
  edgeforge jobs retry <id>       run a failed or cancelled job again
  edgeforge jobs cancel <id>      cancel a queued job, or ask a running one to stop
                                  --json prints the server's answer as JSON`

/** `jobs ls|show|retry|cancel` (jobs.ts dispatches to it; `jobs logs` lives there). */
export async function jobCommands(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const ef = clientOf(loadClientSettings(process.env, flags))
  const sub = positionals[0] ?? 'ls'
  const json = flags.json !== undefined
  try {
    if (sub === 'ls' || sub === 'list') {
      const limit = flags.limit === undefined ? 100 : Number(flags.limit)
      if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number ≥ 1')
      const jobs = []
      // The server checks the status (400 validation_failed names the allowed ones).
      type ListQuery = NonNullable<Parameters<typeof ef.jobs.list>[0]>
      const query = { queue: flags.queue, status: flags.status } as ListQuery
      for await (const job of ef.jobs.list(query)) {
        jobs.push(job)
        if (jobs.length >= limit) break
      }
      if (json) console.log(JSON.stringify(jobs, null, 2))
      else
        console.log(
          table(
            ['ID', 'QUEUE', 'STATUS', 'ATTEMPTS', 'CREATED', 'LAST ERROR'],
            jobs.map((j) => [
              j.id,
              j.queue,
              j.status,
              `${j.attempts}/${j.max_attempts}`,
              j.created_at,
              j.last_error ? clip(j.last_error, 50) : '',
            ]),
          ),
        )
      return 0
    }
    const id = positionals[1]
    if (!id)
      throw new UsageError(`jobs ${sub} needs a job id: edgeforge jobs ${sub} <id> ("jobs ls" lists them)`)
    if (sub === 'show' || sub === 'retry' || sub === 'cancel') {
      const { data: job } =
        sub === 'show'
          ? await ef.jobs.get(id)
          : sub === 'retry'
            ? await ef.jobs.retry(id)
            : await ef.jobs.cancel(id)
      if (json || sub === 'show') console.log(JSON.stringify(job, null, 2))
      else console.log(`${sub === 'retry' ? 'retried' : 'cancel requested for'} ${id}`)
      return 0
    }
  } catch (error) {
    throw withHint(error)
  }
  throw new UsageError(`unknown subcommand "jobs ${sub}"; try ls, show, retry, cancel or logs`)
}
