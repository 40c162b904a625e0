import type { JobLogPage } from '@edgeforge/protocol'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { listArtifactsCommand } from './artifacts.ts'
import { ControlClient, ControlError } from './client.ts'
import { JOB_COMMANDS_HELP, jobCommands } from './job-commands.ts'

export const JOBS_HELP = `edgeforge jobs — the jobs of the queue and their logs

Usage:
${JOB_COMMANDS_HELP}
  edgeforge jobs logs <id> [--follow] [--start N] [--json]
                        print the job's log from line N (default 0); with --follow, keep printing
                        new lines until the job has finished, wherever it runs; --json prints
                        one JSON object per line ({ "at", "line" }), as it comes
  edgeforge jobs artifacts <id> [--json]
                        the job's artifacts: name, size, sha256, content type, created, downloads

${CLIENT_SETTINGS_HELP}`

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'dead'])

export async function jobsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['help', 'json', 'follow'])
  const [action, id] = positionals
  if (action === 'artifacts') return listArtifactsCommand(argv)
  if (action !== 'logs') return jobCommands(argv)
  if (!id) throw new UsageError('jobs logs needs a job id: edgeforge jobs logs <id>')
  const startFlag = flags.start ?? '0'
  if (!/^\d+$/.test(startFlag)) throw new UsageError('--start takes a whole number')
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  const path = `/jobs/${encodeURIComponent(id)}`
  let start = Number(startFlag)
  const print = (line: JobLogPage['lines'][number]) =>
    process.stdout.write(flags.json ? `${JSON.stringify(line)}\n` : `${line.at} ${line.line}\n`)
  /** Prints the stored log from `start` to its end now. */
  const printStored = async () => {
    for (;;) {
      const page = (await client.call<JobLogPage>('GET', `${path}/log?start=${start}&limit=10000`)).data
      for (const line of page.lines) print(line)
      start = page.next_start
      if (page.lines.length < 10_000) return
    }
  }
  if (!flags.follow) {
    await printStored()
    return 0
  }
  const ended = (status: string) => {
    console.error(`(job ${status})`)
    return 0
  }
  // Following: the job's event stream opens first, so its snapshot's cursor comes before the
  // stored log is read; then each `log` event's lines past what was printed (a line both stored
  // and in an event is printed once, by its offset). The client reconnects and resumes by cursor.
  for (;;) {
    const stream = client.ef.events.job(id, undefined, {
      onReconnect: (error, cursor) =>
        console.error(
          `edgeforge jobs logs: disconnected (${error.message}); resuming after cursor ${cursor ?? 'now'}`,
        ),
    })
    try {
      for await (const frame of stream) {
        if (frame.event === 'snapshot') {
          await printStored()
          // A job that had finished when the snapshot was taken logs nothing more: its log is all stored.
          const { status } = (frame.data.snapshot as { job: { status: string } }).job
          if (FINAL.has(status)) return ended(status)
          continue
        }
        if (frame.event !== 'event') continue
        const event = frame.data as { type: string; data: Record<string, unknown> }
        if (event.type === 'log') {
          for (const line of (event.data.lines ?? []) as JobLogPage['lines'])
            if (line.offset >= start) {
              print(line)
              start = line.offset + 1
            }
        } else if (event.type === 'succeeded' || event.type === 'cancelled' || event.type === 'failed') {
          // Whatever was logged before the end and not yet printed, then the job's final status.
          await printStored()
          return ended(event.type === 'failed' ? String(event.data.status ?? 'failed') : event.type)
        }
      }
    } catch (error) {
      // Events older than the retained window: start again from a snapshot (the offset stays).
      if (error instanceof ControlError && error.code === 'cursor_expired') continue
      throw error
    }
  }
}
