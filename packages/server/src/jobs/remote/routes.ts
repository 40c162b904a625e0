import { ApiError, type WorkerInfo, workersApi } from '@edgeforge/protocol'
import { type App, declared, ok, okPage } from '../../http/index.ts'
import type { QueueEngine } from '../engine/engine.ts'
import type { DeployedHandlers } from './handlers.ts'
import type { WorkerHub } from './hub.ts'
import { liveAgent, liveAgents, sendControl, workerDto } from './presence.ts'

export interface WorkerRoutesDeps {
  hub: WorkerHub
  engine: QueueEngine
  handlers: DeployedHandlers
}

export { workerDto }

/**
 * Remote workers as resources, the bundle download agents run, and input to running jobs. The
 * socket itself (`/workers/connect`) is not a Fastify route: main.ts hands the listener's
 * `upgrade` events to the hub.
 */
export function workerRoutes(app: App, deps: WorkerRoutesDeps): void {
  const { hub } = deps
  const db = deps.engine.db
  /** The agent, from this process when it holds the socket, else from the store (any process's). */
  const found = async (id: string): Promise<{ info: WorkerInfo; local: boolean }> => {
    const session = hub.get(id)
    if (session) return { info: workerDto(session), local: true }
    // On SQLite one process holds every agent; a row it does not hold is a dead process's.
    const info = db.dialect === 'postgres' ? await liveAgent(db, id) : undefined
    if (!info) throw new ApiError('not_found', `no worker with id ${id} is connected to any gateway process`)
    return { info, local: false }
  }

  app.route({
    ...declared(workersApi.listWorkers),
    handler: async () => {
      const local = hub.list().map(workerDto)
      const mine = new Set(local.map((info) => info.id))
      const stored = db.dialect === 'postgres' ? await liveAgents(db) : []
      const others = stored.filter((info) => !mine.has(info.id))
      const items = [...local, ...others].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      return okPage({ items, continuation_token: null })
    },
  })

  app.route({
    ...declared(workersApi.getWorker),
    handler: async (req) => ok((await found(req.params.id)).info),
  })

  app.route({
    ...declared(workersApi.drainWorker),
    handler: async (req) => {
      const { info, local } = await found(req.params.id)
      if (local) {
        hub.drain(req.params.id)
        return ok((await found(req.params.id)).info)
      }
      await sendControl(db, { action: 'drain', id: info.id })
      return ok({ ...info, draining: true })
    },
  })

  app.route({
    ...declared(workersApi.disconnectWorker),
    handler: async (req) => {
      const { info, local } = await found(req.params.id)
      if (local) hub.disconnect(req.params.id)
      else await sendControl(db, { action: 'disconnect', id: info.id })
      return ok(info)
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
      // Stored, then delivered in order by whichever process holds the run (its runner, or the
      // hub holding its agent's socket), here or in another gateway process on the same store.
      const { seq } = await deps.engine.sendInput(req.params.id, req.body.message ?? null)
      return ok({ seq })
    },
  })
}
