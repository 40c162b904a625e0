/**
 * The remote-worker protocol: JSON text frames over the control plane's WebSocket
 * `GET /workers/connect` (Authorization: Bearer <credential>). docs/workers.md describes the
 * conversation; these are its messages. Every message has a `type`; the agent speaks first
 * (`hello`) and the server answers `welcome` or `refused` (then closes the socket).
 *
 * A version is a whole number: the server lists the versions it speaks and refuses an agent whose
 * `protocol` is not among them, with code `worker_protocol_unsupported`.
 */

/**
 * 2: input messages are numbered (`input.seq`) and an agent says the last one it has per running
 * job (`hello.running[].input_seq`), so input survives a reconnect. A version-1 agent would get
 * input twice after a reconnect, so it is refused.
 */
export const WORKER_PROTOCOL_VERSION = 2
export const SUPPORTED_WORKER_PROTOCOL_VERSIONS: readonly number[] = [2]
/** The path of the worker WebSocket on the control listener. */
export const WORKER_SOCKET_PATH = '/workers/connect'

/** Close codes the server uses (4000–4999 are the application's). */
export const WORKER_CLOSE = {
  /** `refused` was sent: the agent must not reconnect with the same hello. */
  refused: 4001,
  /** An operator disconnected the worker (`POST /workers/{id}/disconnect`). */
  disconnected: 4002,
  /** A message was not valid JSON or not a message of this protocol. */
  protocolError: 4003,
  /** The server is stopping; reconnect later. */
  shutdown: 4004,
} as const

/** A log line as it travels: `[unix milliseconds, text]`. */
export type WireLogLine = [at: number, line: string]

/** Identifies one run of one job: a finish for another attempt is refused. */
export interface JobRunRef {
  job_id: string
  attempt: number
}

// ── agent → server ────────────────────────────────────────────────────────────────────────

/** A job the agent still runs when it (re)connects. */
export interface RunningRef extends JobRunRef {
  /** The highest `input.seq` the agent has for this run (0 or absent: none); the rest is resent. */
  input_seq?: number
}

export interface HelloMessage {
  type: 'hello'
  protocol: number
  /** Stable across reconnects of one agent process; the server uses it as the lease owner. */
  worker_id: string
  group?: string
  queues: string[]
  concurrency: number
  /** The agent's own version, for GET /workers. */
  agent_version: string
  /** Jobs this agent is still running from before a reconnect: their leases are taken up again. */
  running?: RunningRef[]
}

/** Lines `offset`, `offset + 1`, … of a job's log; resent from the last `log_ack` after a reconnect. */
export interface LogMessage extends JobRunRef {
  type: 'log'
  offset: number
  lines: WireLogLine[]
}

export interface ProgressMessage extends JobRunRef {
  type: 'progress'
  fraction: number
}

export interface FinishMessage extends JobRunRef {
  type: 'finish'
  /** `succeeded` stores `result`; `failed` stores `error`; `released` hands the job back unrun (agent shutdown). */
  outcome: 'succeeded' | 'failed' | 'released'
  result?: unknown
  error?: string
  /** The handler threw UnrecoverableError: no retry. */
  unrecoverable?: boolean
}

/** The agent stops taking jobs (it got SIGTERM); the running ones finish. */
export interface DrainingMessage {
  type: 'draining'
}

export type AgentMessage = HelloMessage | LogMessage | ProgressMessage | FinishMessage | DrainingMessage

// ── server → agent ────────────────────────────────────────────────────────────────────────

export interface WelcomeMessage {
  type: 'welcome'
  protocol: number
  worker_id: string
  lease_ms: number
  /** Of `hello.running`, the jobs whose lease this worker still holds; drop the others. */
  resumed: JobRunRef[]
  /** The highest offset stored + 1 for each resumed job: resend the log from there. */
  log_acks: Record<string, number>
}

export interface RefusedMessage {
  type: 'refused'
  /** A code of the error registry: worker_protocol_unsupported, unauthorized, forbidden, conflict, validation_failed. */
  code: string
  message: string
}

/** Which deployed job handler version runs a job: fetch `GET /workers/handlers/{endpoint_id}/{version}` once. */
export interface HandlerRef {
  endpoint_id: string
  endpoint_name: string
  version: number
  /** SHA-256 (hex) of the bundle's bytes: check it, and cache the bundle under it. */
  sha256: string
}

export interface JobMessage extends JobRunRef {
  type: 'job'
  queue: string
  payload: unknown
  max_attempts: number
  /** Unix milliseconds; renewed by the server while the socket lives. */
  lease_expires_at: number
  /** Number this job's log lines from here (earlier attempts' lines stay before it). */
  log_offset: number
  /** Null when no job handler is deployed for the queue (an agent with --handler does not need one). */
  handler: HandlerRef | null
  /**
   * A temporary credential for this job's artifacts only (`PUT /jobs/{id}/artifacts/{name}`),
   * expiring with the lease; `credential` messages bring its successors. Absent or null when the
   * server has no admin token to sign one: upload with the agent's own credential then.
   */
  artifact_credential?: string | null
}

/** The next artifact credential of a running job, sent with each lease renewal. */
export interface CredentialMessage extends JobRunRef {
  type: 'credential'
  artifact_credential: string
}

export interface LogAckMessage extends JobRunRef {
  type: 'log_ack'
  /** Every line below this offset is stored. */
  offset: number
}

/** Stop the job: `ctx.signal` is aborted with this reason; a finish after `lease_lost` is refused. */
export interface AbortMessage extends JobRunRef {
  type: 'abort'
  reason: 'cancelled' | 'lease_lost' | 'shutdown'
}

export interface FinishAckMessage extends JobRunRef {
  type: 'finish_ack'
  /** False: the lease was gone (the job was reaped or re-claimed); the outcome was discarded. */
  ok: boolean
  /** The job's status after the finish, or null when it no longer exists. */
  status: string | null
}

/**
 * A message sent with POST /jobs/{id}/input: the job reads it from `ctx.input`. Numbered 1, 2, …
 * per job, sent in order; after a reconnect the server resends those past the `input_seq` the
 * agent reported, so an agent drops any seq it already has (a run sees each message once).
 */
export interface InputMessage extends JobRunRef {
  type: 'input'
  seq: number
  message: unknown
}

/** An operator drained the worker (`POST /workers/{id}/drain`): finish running jobs, no new ones come. */
export interface DrainMessage {
  type: 'drain'
}

export type ServerMessage =
  | WelcomeMessage
  | RefusedMessage
  | JobMessage
  | LogAckMessage
  | AbortMessage
  | FinishAckMessage
  | InputMessage
  | DrainMessage
  | CredentialMessage
