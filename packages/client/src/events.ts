import type { Core, OperationSpec, Query } from './core.ts'
import { EdgeforgeError, EdgeforgeNetworkError } from './errors.ts'

/** One frame of an event stream: `snapshot`, `event`, `heartbeat` (an `error` frame is thrown). */
export interface EventFrame {
  /** The frame type. */
  event: 'snapshot' | 'event' | 'heartbeat' | (string & {})
  /** The cursor this frame leaves the stream at; a reconnect resumes after it. */
  cursor?: string
  /** The frame's JSON: a StreamEvent for `event`, `{cursor, snapshot}` for `snapshot`, `{cursor}` for `heartbeat`. */
  data: Record<string, unknown>
}

export interface EventStreamOptions {
  /**
   * Reconnect after a dropped connection or a 5xx and resume after the last cursor, so no event is
   * seen twice or missed (default true). With false the iteration ends when the stream does.
   */
  follow?: boolean
  /** Told each time the stream dropped and is about to reconnect (the next try is `delayMs` away). */
  onReconnect?: (error: Error, cursor: string | undefined, delayMs: number) => void
  signal?: AbortSignal
}

const FIRST_DELAY_MS = 250
const MAX_DELAY_MS = 10_000

/** The frames of one Server-Sent Events body, in order. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<EventFrame> {
  const decoder = new TextDecoder()
  let buffer = ''
  // A reader, not `for await`: the iterator's return awaits the body's cancel, which with undici
  // settles only when the connection does (seconds); the caller aborts the fetch as well.
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
        const frame: EventFrame = { event: '', data: {} }
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) frame.event = line.slice(7)
          else if (line.startsWith('id: ')) frame.cursor = line.slice(4)
          else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6))
        }
        // `retry:` and comment blocks carry no event.
        if (frame.event) yield frame
      }
    }
  } finally {
    // Not awaited: with undici the cancel settles only when the connection does.
    reader.cancel().catch(() => {})
  }
}

/** Where a stream ended for a reason the caller must hear of: an `error` frame or a 4xx. */
function frameError(data: Record<string, unknown>): EdgeforgeError {
  const code = typeof data.code === 'string' ? data.code : 'internal'
  const message = typeof data.message === 'string' ? data.message : 'the event stream ended with an error'
  return new EdgeforgeError(code === 'cursor_expired' ? 410 : 500, code, message, data.details, undefined)
}

/**
 * A declared event stream (`produces: text/event-stream`), followed: `for await` yields its
 * frames; after a disconnect it reconnects with the last cursor it saw. A 4xx before the stream
 * starts (cursor_malformed, cursor_expired, not_found, a missing scope) and an `error` frame end
 * the iteration with an EdgeforgeError; breaking out of the loop closes the connection.
 */
export async function* eventStream(
  core: Core,
  spec: OperationSpec,
  params: readonly string[],
  query: Query | undefined,
  options: EventStreamOptions = {},
): AsyncGenerator<EventFrame> {
  const follow = options.follow ?? true
  const { signal } = options
  let cursor = typeof query?.cursor === 'string' ? query.cursor : undefined
  let delayMs = FIRST_DELAY_MS
  // Each connection has its own abort, fired when the iteration ends however it ends: cancelling
  // a fetch body alone did not close the socket (undici, after an event frame), and the server
  // held that stream open until its shutdown's drain timeout.
  let connection = new AbortController()
  const abort = () => connection.abort()
  signal?.addEventListener('abort', abort)
  try {
    while (!signal?.aborted) {
      connection = new AbortController()
      const pathAndQuery = core.pathOf(spec, params, { ...query, cursor })
      let dropped: Error
      try {
        const response = await core.fetchRaw(pathAndQuery, { accept: 'text/event-stream' }, connection.signal)
        if (response.status !== 200 || !response.body) {
          const error = await core.errorOf(response, pathAndQuery)
          if (response.status < 500) throw error
          dropped = error
        } else {
          for await (const frame of frames(response.body)) {
            if (frame.event === 'error') throw frameError(frame.data)
            if (frame.cursor !== undefined) cursor = frame.cursor
            delayMs = FIRST_DELAY_MS
            let resumed = false
            try {
              yield frame
              resumed = true
            } finally {
              // Ended by the caller (break, return): close the socket before the body's iterator unwinds.
              if (!resumed) connection.abort()
            }
          }
          dropped = new EdgeforgeNetworkError('the server ended the event stream')
        }
      } catch (error) {
        if (error instanceof EdgeforgeError || signal?.aborted) throw error
        dropped = error as Error
      }
      if (!follow) return
      options.onReconnect?.(dropped, cursor, delayMs)
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      delayMs = Math.min(delayMs * 2, MAX_DELAY_MS)
    }
  } finally {
    signal?.removeEventListener('abort', abort)
    connection.abort()
  }
}
