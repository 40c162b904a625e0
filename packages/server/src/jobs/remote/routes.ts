import { ApiError, type WorkerInfo, workersApi } from '@edgeforge/protocol'
import { type App, declared, ok, okPage } from '../../http/index.ts'
import type { QueueEngine } from '../engine/engine.ts'
import type { DeployedHandlers } from './handlers.ts'
import type { WorkerHub } from './hub.ts'
import type { WorkerSession } from './session.ts'

export interface WorkerRoutesDeps {
  hub: WorkerHub
  engine: QueueEngine
  handlers: DeployedHandlers
  /** Delivers to a job running in this process (the in-process runtime); false when none runs here. */
  deliverLocal: (jobId: string, message: unknown) => boolean
}

export function workerDto(session: WorkerSession): WorkerInfo {
  return {
    id: session.id,
    group: session.group,
    queues: session.queues,
    concurrency: session.concurrency,
    running_job_ids: [...session.running.keys()],
    draining: session.draining,
    agent_version: session.agentVersion,
    protocol: session.protocol,
    connected_since: new Date(session.connectedAt).toISOString(),
    last_seen: new Date(session.lastSeenAt).toISOString(),
    remote_address: session.remoteAddress,
  }
}

/**
 * Remote workers as resources, the bundle download agents run, and input to running jobs. The
 * socket itself (`/workers/connect`) is not a Fastify route: main.ts hands the listener's
 * `upgrade` events to the hub.
 */
export function workerRoutes(app: App, deps: WorkerRoutesDeps): void {
  const { hub } = deps
  const found = (id: string) => {
    const session = hub.get(id)
    if (!session) throw new ApiError('not_found', `no worker with id ${id} is connected to this process`)
    return session
  }

  app.route({
    ...declared(workersApi.listWorkers),
    handler: async () => okPage({ items: hub.list().map(workerDto), continuation_token: null }),
  })

  app.route({
    ...declared(workersApi.getWorker),
    handler: async (req) => ok(workerDto(found(req.params.id))),
  })

  app.route({
    ...declared(workersApi.drainWorker),
    handler: async (req) => {
      found(req.params.id)
      hub.drain(req.params.id)
      return ok(workerDto(found(req.params.id)))
    },
  })

  app.route({
    ...declared(workersApi.disconnectWorker),
    handler: async (req) => {
      const session = found(req.params.id)
      hub.disconnect(req.params.id)
      return ok(workerDto(session))
    },
  })

  app.route({
    ...declared(workersApi.getWorkerHandler),
    handler: async (req, reply) => {
      const bundle = await deps.handlers.bundle(req.params.endpoint, req.params.version)
      if (!bundle)
        throw new ApiError(
          'not_found',
          `no stored version ${req.params.version} of endpoint ${req.params.endpoint}`,
        )
      reply.header('content-type', 'application/javascript; charset=utf-8')
      reply.header('x-edgeforge-sha256', bundle.sha256)
      reply.header('etag', `"${bundle.sha256}"`)
      return bundle.code
    },
  })

  app.route({
    ...declared(workersApi.sendJobInput),
    handler: async (req) => {
      const job = await deps.engine.getJob(req.params.id)
      if (job.status !== 'running')
        throw new ApiError('conflict', `job ${job.id} is ${job.status}; input goes to running jobs only`, {
          status: job.status,
        })
      const message = req.body.message ?? null
      if (hub.deliverInput(job.id, message)) return ok({ delivered: true, where: 'remote' as const })
      if (deps.deliverLocal(job.id, message)) return ok({ delivered: true, where: 'local' as const })
      throw new ApiError(
        'conflict',
        `job ${job.id} runs under lease ${job.leaseOwner ?? 'unknown'}, not in this process; send the input to the gateway process it runs in`,
        { status: job.status, lease_owner: job.leaseOwner },
      )
    },
  })
}
