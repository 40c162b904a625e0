import { Type } from 'typebox'
import { JobInputBody, JobInputResponse, WorkerInfo } from '../workers.ts'
import { declare } from './declare.ts'
import { Ok, OkList } from './envelope.ts'
import { JobParams } from './jobs.ts'

/*
 * Remote workers as resources, the bundle agents download, and input to running jobs. The
 * socket itself (`GET /workers/connect`, an upgrade) is not an operation: worker.ts describes it.
 */

const WorkerParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, description: 'Worker id' }) },
  { additionalProperties: false },
)
const context = 'workers' as const
const stability = 'experimental' as const

export const workersApi = {
  listWorkers: declare({
    name: 'listWorkers',
    client: { group: 'workers', method: 'list' },
    context,
    method: 'GET',
    path: '/workers',
    summary: 'Remote workers connected to any gateway process on the store',
    responses: { 200: OkList(WorkerInfo) },
    errors: [],
    scopes: 'workers:read:*',
    stability,
  }),
  getWorker: declare({
    name: 'getWorker',
    client: { group: 'workers', method: 'get' },
    context,
    method: 'GET',
    path: '/workers/{id}',
    summary: 'One connected worker',
    params: WorkerParams,
    responses: { 200: Ok(WorkerInfo) },
    errors: ['not_found'],
    scopes: 'workers:read:<id>',
    stability,
  }),
  drainWorker: declare({
    name: 'drainWorker',
    client: { group: 'workers', method: 'drain' },
    context,
    method: 'POST',
    path: '/workers/{id}/drain',
    summary: 'Let a worker finish its running jobs and push it no new ones',
    params: WorkerParams,
    responses: { 200: Ok(WorkerInfo) },
    errors: ['not_found'],
    scopes: 'workers:drain:<id>',
    stability,
  }),
  disconnectWorker: declare({
    name: 'disconnectWorker',
    client: { group: 'workers', method: 'disconnect' },
    context,
    method: 'POST',
    path: '/workers/{id}/disconnect',
    summary: "Close a worker's socket",
    description:
      'Its running jobs keep their leases until they expire; an agent that reconnects in time takes them up again, else they run elsewhere.',
    params: WorkerParams,
    responses: { 200: Ok(WorkerInfo) },
    errors: ['not_found'],
    scopes: 'workers:disconnect:<id>',
    stability,
  }),
  getWorkerHandler: declare({
    name: 'getWorkerHandler',
    client: { group: 'workers', method: 'getHandler' },
    context,
    method: 'GET',
    path: '/workers/handlers/{endpoint}/{version}',
    summary: 'The bundle of a job handler version, for remote agents',
    description: 'CommonJS text; the x-edgeforge-sha256 header carries its SHA-256, which agents check.',
    params: Type.Object(
      {
        endpoint: Type.String({ minLength: 1, maxLength: 64 }),
        version: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    responses: { 200: Type.String({ description: 'The bundle' }) },
    produces: 'application/javascript',
    errors: ['not_found'],
    scopes: 'queues:work:<queue>',
    stability,
  }),
  sendJobInput: declare({
    name: 'sendJobInput',
    client: { group: 'jobs', method: 'sendInput' },
    context: 'jobs',
    method: 'POST',
    path: '/jobs/{id}/input',
    summary: "Send a message to a running job's ctx.input",
    description:
      'The message is stored and delivered in order to the run, wherever it runs (this gateway process, another one on the same store, or a remote agent, also across its reconnects). 409 conflict when the job is not running.',
    params: JobParams,
    body: JobInputBody,
    responses: { 200: Ok(JobInputResponse) },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:input:<queue>',
    stability,
  }),
}
