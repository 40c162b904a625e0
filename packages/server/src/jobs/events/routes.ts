import { ApiError, eventsApi } from '@edgeforge/protocol'
import type { FastifyRequest } from 'fastify'
import { type App, declared } from '../../http/index.ts'
import type { QueueEngine } from '../engine/engine.ts'
import { jobDto, queueOverviewDto } from '../http/dto.ts'
import type { EventFeed } from './feed.ts'
import type { EventRow } from './sql.ts'
import { sseSink } from './sse.ts'
import { type FrameSink, resumeCursor, runStream, type StreamSpec } from './stream.ts'
import { acceptUpgrade, isUpgrade, wsSink } from './ws.ts'

export interface EventRoutesDeps {
  engine: QueueEngine
  feed: EventFeed
  /** Whether held scopes cover a required one (auth/'s rule; jobs/ does not import auth/). */
  hasScope: (held: readonly string[], required: string) => boolean
  heartbeatMs?: number
}

/** What a caller may see: job events of queues it may read, worker events if it may list workers (workers:read:*). */
export function visibleTo(
  scopes: readonly string[],
  hasScope: EventRoutesDeps['hasScope'],
): (event: EventRow) => boolean {
  const byQueue = new Map<string, boolean>()
  const workers = hasScope(scopes, 'workers:read:*')
  return (event) => {
    if (event.type.startsWith('worker.')) return workers
    const queue = event.queue ?? '*'
    let may = byQueue.get(queue)
    if (may === undefined) {
      may = hasScope(scopes, `jobs:read:${queue}`)
      byQueue.set(queue, may)
    }
    return may
  }
}

/** The specs of the three streams, shared by the SSE routes and the WebSocket upgrade. */
export async function streamSpec(
  deps: EventRoutesDeps,
  target: { kind: 'all' } | { kind: 'queue'; queue: string } | { kind: 'job'; jobId: string },
  scopes: readonly string[],
  cursor: number | undefined,
): Promise<StreamSpec> {
  const { engine } = deps
  const visible = visibleTo(scopes, deps.hasScope)
  const base = { visible, cursor, heartbeatMs: deps.heartbeatMs }
  if (target.kind === 'job') {
    // 404 before the stream starts for a job that does not exist.
    const job = await engine.getJob(target.jobId)
    return {
      ...base,
      filter: { jobId: target.jobId },
      snapshot: async () => ({ job: jobDto(await engine.getJob(job.id)) }),
    }
  }
  if (target.kind === 'queue') {
    return {
      ...base,
      filter: { queue: target.queue },
      snapshot: async () => {
        const found = (await engine.overview()).find((row) => row.queue === target.queue)
        return { queue: found ? queueOverviewDto(found) : null }
      },
    }
  }
  return {
    ...base,
    filter: {},
    snapshot: async () => ({
      queues: (await engine.overview())
        .filter((row) => deps.hasScope(scopes, `jobs:read:${row.queue}`))
        .map(queueOverviewDto),
    }),
  }
}

/**
 * `GET /events`, `/queue/{name}/events`, `/jobs/{id}/events` as Server-Sent Events, or as a
 * WebSocket when the request is an upgrade (main.ts routes those through the app with
 * `routeUpgrade`, so they pass the same credential and scope checks). The cursor (and a job's
 * existence) is checked before the stream starts, so a malformed or expired one is a plain 400/410
 * answer in the error envelope, not an upgrade; once streaming, failures are `error` frames.
 * A WebSocket resumes from `?cursor=` only (browsers cannot set Last-Event-ID on one).
 */
export function eventRoutes(app: App, deps: EventRoutesDeps): void {
  const serve = async (
    req: FastifyRequest,
    reply: {
      hijack(): void
      raw: import('node:http').ServerResponse
      getHeaders(): Record<string, string | number | string[] | undefined>
    },
    target: Parameters<typeof streamSpec>[1],
    query: { cursor?: string },
  ) => {
    const upgrade = isUpgrade(req.raw)
    const header = upgrade ? undefined : req.headers['last-event-id']
    const cursor = await resumeCursor(deps.engine, query.cursor, header)
    const scopes = req.principal?.scopes ?? []
    const spec = await streamSpec(deps, target, scopes, cursor)
    const headers = reply.getHeaders()
    reply.hijack()
    const run = (sink: FrameSink) =>
      runStream(deps.engine, deps.feed, sink, spec).catch((error) => {
        const code = error instanceof ApiError ? error.code : 'internal'
        void sink
          .send({ type: 'error', error: { code, message: String(error?.message ?? error) } })
          .finally(() => sink.end())
      })
    if (upgrade) acceptUpgrade(req.raw, reply.raw, (ws, socket) => void run(wsSink(ws, socket)))
    else await run(sseSink(reply.raw, headers))
  }

  app.route({
    ...declared(eventsApi.streamEvents),
    handler: (req, reply) => serve(req, reply, { kind: 'all' }, req.query),
  })
  app.route({
    ...declared(eventsApi.streamQueueEvents),
    handler: (req, reply) => serve(req, reply, { kind: 'queue', queue: req.params.name }, req.query),
  })
  app.route({
    ...declared(eventsApi.streamJobEvents),
    handler: (req, reply) => serve(req, reply, { kind: 'job', jobId: req.params.id }, req.query),
  })
}
