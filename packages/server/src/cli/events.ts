import { EdgeforgeError, type EventFrame } from '@edgeforge/client'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { clientOf } from './client.ts'

export const EVENTS_HELP = `edgeforge events — follow job and worker events as they happen

Usage:
  edgeforge events [--queue q] [--job id] [--cursor c] [--json]
                        print events (enqueued, started, progress, log, succeeded, failed,
                        cancelled, retried, worker connected/disconnected) until interrupted;
                        after a disconnect it reconnects and resumes from the last cursor, so no
                        event is printed twice or skipped. --cursor starts after that cursor
                        instead of "now"; --json prints each frame as one JSON line.

${CLIENT_SETTINGS_HELP}`

function human(frame: EventFrame): string | undefined {
  if (frame.event === 'heartbeat') return undefined
  if (frame.event === 'snapshot') return `-- following from cursor ${frame.data.cursor}`
  const event = frame.data as {
    cursor: string
    type: string
    at: string
    queue: string | null
    job_id: string | null
    data: Record<string, unknown>
  }
  const where = [event.queue, event.job_id].filter(Boolean).join(' ')
  if (event.type === 'log') {
    const lines = (event.data.lines ?? []) as Array<{ line: string }>
    return lines.map((line) => `${event.at} ${where} log ${line.line}`).join('\n') || undefined
  }
  const detail = Object.keys(event.data).length > 0 ? ` ${JSON.stringify(event.data)}` : ''
  return `${event.at} ${where} ${event.type}${detail}`
}

export async function eventsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['help', 'json'])
  if (positionals.length > 0) throw new UsageError(`events takes no arguments (got ${positionals.join(' ')})`)
  if (flags.queue !== undefined && flags.job !== undefined)
    throw new UsageError('give --queue or --job, not both')
  let cursor: string | undefined = flags.cursor
  if (cursor !== undefined && !/^\d+$/.test(cursor)) throw new UsageError('--cursor takes a cursor (digits)')
  const events = clientOf(loadClientSettings(process.env, flags)).events
  const print = (frame: EventFrame) => {
    if (flags.json) process.stdout.write(`${JSON.stringify({ frame: frame.event, ...frame.data })}\n`)
    else {
      const text = human(frame)
      if (text !== undefined) process.stdout.write(`${text}\n`)
    }
  }
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  const options = {
    signal: abort.signal,
    onReconnect: (error: Error, at: string | undefined) =>
      console.error(
        `edgeforge events: disconnected (${error.message}); resuming after cursor ${at ?? 'now'}`,
      ),
  }
  while (!abort.signal.aborted) {
    const query = cursor === undefined ? undefined : { cursor }
    const stream =
      flags.job !== undefined
        ? events.job(flags.job, query, options)
        : flags.queue !== undefined
          ? events.queue(flags.queue, query, options)
          : events.all(query, options)
    try {
      for await (const frame of stream) {
        if (frame.cursor !== undefined) cursor = frame.cursor
        print(frame)
      }
    } catch (error) {
      if (abort.signal.aborted) break
      if (error instanceof EdgeforgeError && error.code === 'cursor_expired') {
        console.error(`edgeforge events: ${error.message} (starting again from a snapshot)`)
        cursor = undefined
        continue
      }
      if (error instanceof EdgeforgeError) {
        console.error(`edgeforge events: ${error.code}: ${error.message}`)
        return 1
      }
      throw error
    }
  }
  return 0
}
