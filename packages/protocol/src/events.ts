import { type Static, Type } from 'typebox'

/**
 * Event streams (`GET /events`, `/queue/{name}/events`, `/jobs/{id}/events`): what happened to
 * jobs and workers, in one monotone sequence kept in the store. Each event's `cursor` is its
 * place in that sequence (a decimal string); a client that reconnects with the last cursor it saw
 * gets exactly the events after it. Over Server-Sent Events the cursor is also the frame's `id:`,
 * so a browser's EventSource resumes by itself (`Last-Event-ID`).
 */
export const EVENT_TYPES = [
  'enqueued',
  'started',
  'progress',
  'log',
  'succeeded',
  'failed',
  'cancelled',
  'retried',
  'worker.connected',
  'worker.disconnected',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

/** How often a stream sends a heartbeat carrying the current cursor when it has nothing else. */
export const EVENT_HEARTBEAT_MS = 5000

/** A cursor is the decimal id of an event; `0` is "before the first event ever written". */
export const CURSOR_PATTERN = '^(0|[1-9][0-9]{0,17})$'

export const StreamEvent = Type.Object(
  {
    cursor: Type.String({ pattern: CURSOR_PATTERN }),
    type: Type.Union(EVENT_TYPES.map((type) => Type.Literal(type))),
    at: Type.String({ format: 'date-time' }),
    queue: Type.Union([Type.String(), Type.Null()]),
    job_id: Type.Union([Type.String(), Type.Null()]),
    /**
     * Per type: `started` {attempt, worker}; `progress` {fraction}; `log` {offset, lines: [{offset, at, line}]};
     * `failed` {status: failed|dead, error}; `retried` {reason, run_at}; `cancelled` {}; `succeeded` {};
     * `enqueued` {reason?}; `worker.*` {worker, queues}.
     */
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
)
export type StreamEvent = Static<typeof StreamEvent>

/**
 * The frames of a stream. Over SSE each is a frame whose `event:` is the frame type and whose
 * `data:` is this JSON; over WebSocket each is one text message.
 *
 * - `snapshot` first, when the client gave no cursor: the state now, and the cursor it was taken
 *   at (events after it may repeat what the snapshot already shows; none is missed).
 * - `event`: one StreamEvent.
 * - `heartbeat`: every EVENT_HEARTBEAT_MS while idle, with the current cursor.
 * - `error`: the error envelope's `error` (`cursor_expired`, `cursor_malformed`, …); the stream ends.
 */
export type StreamFrame =
  | { type: 'snapshot'; cursor: string; snapshot: Record<string, unknown> }
  | { type: 'event'; event: StreamEvent }
  | { type: 'heartbeat'; cursor: string }
  | { type: 'error'; error: { code: string; message: string; details?: unknown } }
