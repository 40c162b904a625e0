import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'

export const EVENTS_HELP = `edgeforge events — follow job and worker events as they happen

Usage:
  edgeforge events [--queue q] [--job id] [--cursor c] [--json]
                        print events (enqueued, started, progress, log, succeeded, failed,
                        cancelled, retried, worker connected/disconnected) until interrupted;
                        after a disconnect it reconnects and resumes from the last cursor, so no
                        event is printed twice or skipped. --cursor starts after that cursor
                        instead of "now"; --json prints each frame as one JSON line.

${CLIENT_SETTINGS_HELP}`

interface Frame {
  event: string
  id?: string
  data: Record<string, unknown>
}

/** Follows one stream until it ends; returns the last cursor seen. */
async function follow(
  url: string,
  headers: Record<string, string>,
  cursor: string | undefined,
  print: (frame: Frame) => void,
  signal: AbortSignal,
): Promise<{ cursor: string | undefined; error?: { code: string; message: string } }> {
  const response = await fetch(cursor === undefined ? url : `${url}?cursor=${cursor}`, {
    headers: { accept: 'text/event-stream', ...headers },
    signal,
  })
  if (response.status !== 200 || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } }
    return {
      cursor,
      error: body.error ?? { code: 'internal', message: `the server answered ${response.status}` },
    }
  }
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
      const frame: Frame = { event: '', data: {} }
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) frame.event = line.slice(7)
        else if (line.startsWith('id: ')) frame.id = line.slice(4)
        else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6))
      }
      if (!frame.event) continue
      if (frame.id !== undefined) cursor = frame.id
      if (frame.event === 'error') return { cursor, error: frame.data as { code: string; message: string } }
      print(frame)
    }
  }
  return { cursor }
}

function human(frame: Frame): string | undefined {
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
  const settings = loadClientSettings(process.env, flags)
  const base = settings.url.replace(/\/+$/, '')
  const url =
    flags.job !== undefined
      ? `${base}/jobs/${encodeURIComponent(flags.job)}/events`
      : flags.queue !== undefined
        ? `${base}/queue/${encodeURIComponent(flags.queue)}/events`
        : `${base}/events`
  const headers: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {}
  const print = (frame: Frame) => {
    if (flags.json) process.stdout.write(`${JSON.stringify({ frame: frame.event, ...frame.data })}\n`)
    else {
      const text = human(frame)
      if (text !== undefined) process.stdout.write(`${text}\n`)
    }
  }
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  let delayMs = 250
  while (!abort.signal.aborted) {
    try {
      const outcome = await follow(url, headers, cursor, print, abort.signal)
      if (outcome.cursor !== cursor) delayMs = 250
      cursor = outcome.cursor
      if (outcome.error?.code === 'cursor_expired') {
        console.error(`edgeforge events: ${outcome.error.message} (starting again from a snapshot)`)
        cursor = undefined
        continue
      }
      if (outcome.error) {
        console.error(`edgeforge events: ${outcome.error.code}: ${outcome.error.message}`)
        return 1
      }
    } catch (error) {
      if (abort.signal.aborted) break
      console.error(
        `edgeforge events: disconnected (${(error as Error).message}); resuming after cursor ${cursor ?? 'now'}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    delayMs = Math.min(delayMs * 2, 10_000)
  }
  return 0
}
