import type { JobLogPage, JobWithLogs } from '@edgeforge/protocol'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import { JOB_COMMANDS_HELP, jobCommands } from './job-commands.ts'

export const JOBS_HELP = `edgeforge jobs — the jobs of the queue and their logs

Usage:
${JOB_COMMANDS_HELP}
  edgeforge jobs logs <id> [--follow] [--start N] [--json]
                        print the job's log from line N (default 0); with --follow, keep printing
                        new lines until the job has finished, wherever it runs; --json prints
                        one JSON object per line ({ "at", "line" }), as it comes

${CLIENT_SETTINGS_HELP}`

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'dead'])

export async function jobsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['help', 'json', 'follow'])
  const [action, id] = positionals
  if (action !== 'logs') return jobCommands(argv)
  if (!id) throw new UsageError('jobs logs needs a job id: edgeforge jobs logs <id>')
  const startFlag = flags.start ?? '0'
  if (!/^\d+$/.test(startFlag)) throw new UsageError('--start takes a whole number')
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  const path = `/jobs/${encodeURIComponent(id)}`
  let start = Number(startFlag)
  for (;;) {
    const page = (await client.call<JobLogPage>('GET', `${path}/log?start=${start}&limit=10000`)).data
    for (const line of page.lines)
      process.stdout.write(flags.json ? `${JSON.stringify(line)}\n` : `${line.at} ${line.line}\n`)
    start = page.next_start
    if (page.lines.length === 10_000) continue
    if (!flags.follow) return 0
    // Read the status after the page: a job that was final then has no line after this page.
    const job = (await client.call<JobWithLogs>('GET', path)).data
    if (FINAL.has(job.status) && start >= job.log_lines) {
      console.error(`(job ${job.status})`)
      return 0
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
