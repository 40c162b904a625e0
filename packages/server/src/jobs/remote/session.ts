import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AgentMessage, ApiError, HandlerRef } from '@edgeforge/protocol'
import type { WebSocket } from 'ws'
import type { Logger } from '../../observability/logger.ts'
import type { QueueEngine } from '../engine/engine.ts'
import type { InputCursor } from '../engine/inputs.ts'

/** Where the hub learns which handler version runs a queue; main.ts adapts the job runtime to it. */
export interface HandlerSource {
  deployedFor(queue: string): HandlerRef | undefined | Promise<HandlerRef | undefined>
}

/**
 * The one place a worker's credential is checked: at the upgrade (who is it) and at hello (may it
 * work these queues). Today that is the admin token; scoped credentials (`queues:work:<queue>`)
 * replace this function and nothing else.
 */
export interface WorkerAuth {
  /** Who is connecting, from the upgrade request; an ApiError refuses the upgrade with its status. */
  authenticate(req: IncomingMessage): Promise<WorkerCredential | ApiError>
  /** Whether that credential may work these queues (scope `queues:work:<queue>`). */
  mayWork(credential: WorkerCredential, queues: readonly string[]): ApiError | undefined
}

export interface WorkerCredential {
  scopes: readonly string[]
}

export interface WorkerHubOptions {
  engine: QueueEngine
  auth: WorkerAuth
  handlers: HandlerSource
  logger: Logger
  leaseMs: number
  /** Fallback claim poll for delayed jobs and lost wake-ups. Default 1 s. */
  pollMs?: number
  /** How long a new socket may take to say hello. Default 10 s. */
  helloTimeoutMs?: number
  /** A job's artifact credential expiring at `expiry` (see jobs/artifacts/credential.ts). */
  artifactCredential?: (jobId: string, expiry: number) => string | undefined
}

export interface RemoteRun {
  attempt: number
  queue: string
  /** Set once an abort was pushed, so it is pushed once. */
  aborted: 'cancelled' | 'lease_lost' | null
  /** The job's stored input past what the agent has, sent on this socket (set once the job is pushed). */
  input: InputCursor | null
}

/** One connected agent. */
export interface WorkerSession {
  id: string
  owner: string
  group: string | null
  queues: string[]
  concurrency: number
  agentVersion: string
  protocol: number
  remoteAddress: string
  connectedAt: number
  lastSeenAt: number
  draining: boolean
  running: Map<string, RemoteRun>
}

export interface Live extends WorkerSession {
  socket: WebSocket
  claiming: boolean
  again: boolean
  /** Messages are handled one at a time, in arrival order: a finish never overtakes its log. */
  inbox: Promise<void>
  /** Messages received and not handled yet. */
  pending: AgentMessage[]
  processing: boolean
  pongPending: boolean
}

export const ownerOf = (workerId: string) => `remote:${workerId}`

export function snapshotOf(session: Live): WorkerSession {
  const {
    socket: _socket,
    claiming: _claiming,
    again: _again,
    inbox: _inbox,
    pending: _pending,
    processing: _processing,
    pongPending: _pong,
    ...rest
  } = session
  return { ...rest, running: new Map(session.running) }
}

/** Answers a refused upgrade with the usual error envelope and closes the connection. */
export function refuseUpgrade(socket: Duplex, status: number, body: object): void {
  const text = JSON.stringify(body)
  socket.end(
    `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  )
}
