import { Type } from 'typebox'
import { declare } from './declare.ts'
import { JobParams } from './jobs.ts'

/*
 * Event streams, over Server-Sent Events (`accept: text/event-stream`) or WebSocket (an upgrade
 * on the same path). The frames are described in `events.ts`. A cursor older than the retained
 * window is answered 410 cursor_expired and a malformed one 400 cursor_malformed, before the
 * stream starts; a cursor that expires while a slow client catches up ends the stream with an
 * `error` frame carrying the same code.
 */

const EventsQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'Resume after this cursor (else the Last-Event-ID header; else a snapshot first)',
      }),
    ),
  },
  { additionalProperties: false },
)
const QueueParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128, description: 'Queue name' }) },
  { additionalProperties: false },
)
const stream = Type.String({ description: 'text/event-stream frames: snapshot, event, heartbeat, error' })
const context = 'events' as const
const stability = 'experimental' as const
const errors = ['cursor_malformed', 'cursor_expired', 'not_found'] as const

export const eventsApi = {
  streamEvents: declare({
    name: 'streamEvents',
    client: { group: 'events', method: 'all' },
    context,
    method: 'GET',
    path: '/events',
    summary: 'Every job and worker event the caller may read, resumable by cursor',
    description:
      'Needs events:read:* to open; each job event is shown only to callers holding jobs:read:<its queue>, each worker event only to callers holding workers:read:*.',
    query: EventsQuery,
    responses: { 200: stream },
    produces: 'text/event-stream',
    errors: ['cursor_malformed', 'cursor_expired'],
    scopes: 'events:read:*',
    stability,
  }),
  streamQueueEvents: declare({
    name: 'streamQueueEvents',
    client: { group: 'events', method: 'queue' },
    context,
    method: 'GET',
    path: '/queue/{name}/events',
    summary: "A queue's job events, resumable by cursor",
    params: QueueParams,
    query: EventsQuery,
    responses: { 200: stream },
    produces: 'text/event-stream',
    errors: ['cursor_malformed', 'cursor_expired'],
    scopes: 'jobs:read:<name>',
    stability,
  }),
  streamJobEvents: declare({
    name: 'streamJobEvents',
    client: { group: 'events', method: 'job' },
    context,
    method: 'GET',
    path: '/jobs/{id}/events',
    summary: "One job's events (state changes, progress, log lines), resumable by cursor",
    params: JobParams,
    query: EventsQuery,
    responses: { 200: stream },
    produces: 'text/event-stream',
    errors: [...errors],
    scopes: 'jobs:read:<queue>',
    stability,
  }),
}
