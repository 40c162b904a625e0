import { type Static, Type } from 'typebox'

/* The remote workers' REST shapes (GET /workers, POST /jobs/{id}/input); worker.ts holds the socket's messages. */

export const WorkerInfo = Type.Object({
  id: Type.String({ description: 'The id the agent declared; its leases are held as remote:<id>' }),
  group: Type.Union([Type.String(), Type.Null()]),
  queues: Type.Array(Type.String()),
  concurrency: Type.Integer({ minimum: 1 }),
  running_job_ids: Type.Array(Type.String()),
  draining: Type.Boolean({ description: 'Takes no new jobs; the running ones finish' }),
  agent_version: Type.String(),
  protocol: Type.Integer(),
  connected_since: Type.String({ format: 'date-time' }),
  last_seen: Type.String({ format: 'date-time', description: 'Last message or pong from the agent' }),
  remote_address: Type.String(),
})
export type WorkerInfo = Static<typeof WorkerInfo>

export const JobInputBody = Type.Object(
  { message: Type.Unknown({ description: 'Any JSON value; the job reads it from ctx.input' }) },
  { additionalProperties: false },
)
export type JobInputBody = Static<typeof JobInputBody>

export const JobInputResponse = Type.Object({
  seq: Type.Integer({
    minimum: 1,
    description:
      "The message's number in the job's input (1, 2, …): stored, and delivered in this order to the running job wherever it runs",
  }),
})
export type JobInputResponse = Static<typeof JobInputResponse>
