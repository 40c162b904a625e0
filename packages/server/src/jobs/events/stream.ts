import { ApiError, EVENT_HEARTBEAT_MS, type StreamEvent, type StreamFrame } from '@edgeforge/protocol'
import type { QueueEngine } from '../engine/engine.ts'
import type { EventFeed } from './feed.ts'
import { type EventFilter, type EventRow, eventBounds } from './sql.ts'

const CURSOR_RE = /^(0|[1-9][0-9]{0,17})$/

/**
 * The cursor a client resumes from (`?cursor=` first, else `Last-Event-ID`), undefined when it
 * gave none; a malformed one, or one past the newest event, is a 400 `cursor_malformed`, and one at
 * or before the swept horizon a 410 `cursor_expired`.
 */
export async function resumeCursor(
  engine: QueueEngine,
  query: string | undefined,
  header: string | string[] | undefined,
): Promise<number | undefined> {
  const raw = query ?? (Array.isArray(header) ? header[0] : header)
  if (raw === undefined || raw === '') return undefined
  if (!CURSOR_RE.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new ApiError(
      'cursor_malformed',
      `cursor ${JSON.stringify(raw.slice(0, 40))} is not a cursor: pass the decimal cursor of an event, or no cursor for a snapshot`,
      { cursor: raw.slice(0, 40) },
    )
  const cursor = Number(raw)
  const { head, sweptThrough } = await eventBounds(engine.db)
  if (cursor > head)
    throw new ApiError(
      'cursor_malformed',
      `cursor ${cursor} is past the newest event (${head}): it does not come from this server's store`,
      { cursor: raw, newest: String(head) },
    )
  if (cursor < sweptThrough)
    throw new ApiError(
      'cursor_expired',
      `cursor ${cursor} is older than the retained events (they start after ${sweptThrough}): reconnect without a cursor to start from a snapshot`,
      { cursor: raw, oldest: String(sweptThrough) },
    )
  return cursor
}

/** Where a stream sends its frames (an SSE response or a WebSocket). */
export interface FrameSink {
  /** Resolves when the sink can take more (backpressure). */
  send(frame: StreamFrame, cursor?: string): Promise<void>
  /** Ends the stream (after an error frame). */
  end(): void
  onClose(listener: () => void): void
}

export interface StreamSpec {
  filter: EventFilter
  visible: (event: EventRow) => boolean
  /** The state now, when the client gave no cursor. */
  snapshot: () => Promise<Record<string, unknown>>
  cursor: number | undefined
  heartbeatMs?: number
}

/**
 * Runs one stream: the snapshot (without a cursor; its cursor is read before the snapshot, so the
 * events after it may repeat what the snapshot shows but none is missed), then every visible event
 * after the cursor, with a heartbeat carrying the cursor while idle. Ends when the sink closes.
 */
export async function runStream(
  engine: QueueEngine,
  feed: EventFeed,
  sink: FrameSink,
  spec: StreamSpec,
): Promise<void> {
  let closed = false
  let after = spec.cursor
  if (after === undefined) {
    after = (await eventBounds(engine.db)).head
    const snapshot = await spec.snapshot()
    await sink.send({ type: 'snapshot', cursor: String(after), snapshot }, String(after))
  }
  let lastSent = Date.now()
  const subscription = await feed.subscribe({
    after,
    filter: spec.filter,
    visible: spec.visible,
    deliver: async (events) => {
      for (const event of events) {
        if (closed) return
        const wire = await toWire(engine, event)
        await sink.send({ type: 'event', event: wire }, wire.cursor)
      }
      lastSent = Date.now()
    },
    onStop: () => sink.end(),
    onError: (error) => {
      void sink
        .send({
          type: 'error',
          error: { code: 'internal', message: `the event stream failed: ${String(error)}` },
        })
        .finally(() => sink.end())
    },
  })
  const heartbeatMs = spec.heartbeatMs ?? EVENT_HEARTBEAT_MS
  const heartbeat = setInterval(
    () => {
      if (Date.now() - lastSent < heartbeatMs / 2) return
      const cursor = String(subscription.cursor)
      void sink.send({ type: 'heartbeat', cursor }, cursor)
      lastSent = Date.now()
    },
    Math.max(10, Math.floor(heartbeatMs / 2)),
  )
  sink.onClose(() => {
    closed = true
    clearInterval(heartbeat)
    subscription.close()
  })
}

/** An event on the wire; a `log` event carries its lines, read from the job's log. */
async function toWire(engine: QueueEngine, event: EventRow): Promise<StreamEvent> {
  let data = event.data
  if (event.type === 'log' && event.jobId !== null) {
    const offset = Number(data.offset)
    const count = Number(data.count)
    const page = await engine
      .readLog(event.jobId, offset, Math.min(Math.max(1, count), 10_000))
      .catch(() => ({ lines: [] }))
    data = {
      offset,
      lines: page.lines
        .filter((line) => line.offset < offset + count)
        .map((line) => ({ offset: line.offset, at: new Date(line.at).toISOString(), line: line.line })),
    }
  }
  return {
    cursor: String(event.id),
    type: event.type as StreamEvent['type'],
    at: new Date(event.at).toISOString(),
    queue: event.queue,
    job_id: event.jobId,
    data,
  }
}
