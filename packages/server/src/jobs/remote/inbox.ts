import {
  type AgentMessage,
  type FinishMessage,
  type LogMessage,
  type ServerMessage,
  WORKER_CLOSE,
} from '@edgeforge/protocol'
import type { Logger } from '../../observability/logger.ts'
import type { QueueEngine } from '../engine/engine.ts'
import type { FinishOutcome } from '../types.ts'
import type { Live } from './session.ts'

export interface InboxDeps {
  engine: QueueEngine
  logger: Logger
  send(session: Live, message: ServerMessage): boolean
  /** A slot may have come free: claim for the session. */
  pump(session: Live): void
}

/** What the hub does with the messages of one agent: logs, progress, finishes, draining. */
export class SessionInbox {
  private readonly deps: InboxDeps

  constructor(deps: InboxDeps) {
    this.deps = deps
  }

  /**
   * Handles a session's messages one at a time, in arrival order (a finish never overtakes its
   * log), except that a run of plain successes is completed in one statement, like the
   * in-process runner's batched completions.
   */
  async process(session: Live): Promise<void> {
    try {
      while (session.pending.length > 0) {
        const successes: FinishMessage[] = []
        while (session.pending.length > 0 && this.isPlainSuccess(session, session.pending[0]))
          successes.push(session.pending.shift() as FinishMessage)
        try {
          if (successes.length > 0) await this.completeAll(session, successes)
          else await this.handle(session, session.pending.shift() as AgentMessage)
        } catch (error) {
          this.deps.logger.error({ err: error, worker: session.id }, 'worker hub: message failed')
        }
      }
    } finally {
      session.processing = false
    }
  }

  private isPlainSuccess(session: Live, message: AgentMessage): boolean {
    if (message.type !== 'finish' || message.outcome !== 'succeeded') return false
    const run = session.running.get(message.job_id)
    return run !== undefined && run.attempt === message.attempt && run.aborted === null
  }

  private async completeAll(session: Live, messages: FinishMessage[]): Promise<void> {
    const outcomes = await this.deps.engine.completeMany(
      messages.map((message) => ({
        id: message.job_id,
        owner: session.owner,
        attempt: message.attempt,
        queue: session.running.get(message.job_id)?.queue,
        result: message.result,
      })),
    )
    for (const [index, message] of messages.entries()) {
      session.running.delete(message.job_id)
      this.deps.send(session, {
        type: 'finish_ack',
        job_id: message.job_id,
        attempt: message.attempt,
        ok: outcomes[index].ok,
        status: outcomes[index].status,
      })
    }
    this.deps.pump(session)
  }

  private async handle(session: Live, message: AgentMessage): Promise<void> {
    const { engine } = this.deps
    switch (message.type) {
      case 'log':
        return this.storeLog(session, message)
      case 'progress':
        if (session.running.get(message.job_id)?.attempt === message.attempt)
          await engine
            .setProgress(message.job_id, Math.min(1, Math.max(0, message.fraction)))
            .catch(() => false)
        return
      case 'finish':
        return this.finish(session, message)
      case 'draining':
        session.draining = true
        return
      case 'hello':
        session.socket.close(WORKER_CLOSE.protocolError, 'hello was already said')
    }
  }

  private async storeLog(session: Live, message: LogMessage): Promise<void> {
    const run = session.running.get(message.job_id)
    // Lines of a run this worker no longer holds belong to nobody: they are not stored.
    if (!run || run.attempt !== message.attempt) return
    await this.deps.engine.appendLogChunk(message.job_id, message.offset, message.lines)
    this.deps.send(session, {
      type: 'log_ack',
      job_id: message.job_id,
      attempt: message.attempt,
      offset: message.offset + message.lines.length,
    })
  }

  private async finish(session: Live, message: FinishMessage): Promise<void> {
    const { engine } = this.deps
    const run = session.running.get(message.job_id)
    const ref = { id: message.job_id, owner: session.owner, attempt: message.attempt }
    let outcome: FinishOutcome
    if (!run || run.attempt !== message.attempt || run.aborted === 'lease_lost')
      outcome = { ok: false, reason: 'lease_lost', status: null }
    else if (message.outcome === 'released') outcome = await engine.release(ref)
    else if (message.outcome === 'succeeded' && run.aborted === null)
      outcome = await engine.complete(ref.id, ref.owner, message.result, ref.attempt)
    else
      outcome = await engine.fail(
        ref.id,
        ref.owner,
        run.aborted === 'cancelled' ? 'cancelled on request' : (message.error ?? 'failed'),
        {
          unrecoverable: message.unrecoverable === true,
          attempt: ref.attempt,
        },
      )
    if (run && run.attempt === message.attempt) session.running.delete(message.job_id)
    this.deps.send(session, {
      type: 'finish_ack',
      job_id: message.job_id,
      attempt: message.attempt,
      ok: outcome.ok,
      status: outcome.status,
    })
    this.deps.pump(session)
  }
}
