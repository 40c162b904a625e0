import type { EngineContext } from '../sql/context.ts'
import { appendLogLines, nextLogOffset } from '../sql/logs.ts'

interface JobLog {
  /** The offset the next stored line gets; null until read from the store. */
  next: number | null
  pending: Array<[number, string]>
  writing: Promise<void> | null
}

/**
 * The in-process runner's side of a job's log. `ctx.log` must not wait for the store, yet lines
 * must keep their order and get consecutive offsets: so lines of one job queue up here and one
 * write at a time stores everything queued since the last (one statement per batch, not per
 * line). The first write of a job reads where its log ends (an earlier attempt's lines stay).
 */
export class LogWriter {
  private readonly jobs = new Map<string, JobLog>()
  private readonly ctx: EngineContext
  private readonly onError: (error: unknown) => void
  private readonly onStored?: (jobId: string, offset: number, count: number) => void

  constructor(
    ctx: EngineContext,
    onError: (error: unknown) => void,
    onStored?: (jobId: string, offset: number, count: number) => void,
  ) {
    this.ctx = ctx
    this.onError = onError
    this.onStored = onStored
  }

  append(jobId: string, line: string): void {
    let log = this.jobs.get(jobId)
    if (!log) {
      log = { next: null, pending: [], writing: null }
      this.jobs.set(jobId, log)
    }
    log.pending.push([this.ctx.now(), line])
    if (!log.writing) log.writing = this.drain(jobId, log)
  }

  /** Whether lines of `jobId` were appended and the job not closed yet (close has work to do). */
  open(jobId: string): boolean {
    return this.jobs.has(jobId)
  }

  /** Waits until every line appended for `jobId` is stored, then forgets the job. */
  async close(jobId: string): Promise<void> {
    const log = this.jobs.get(jobId)
    if (!log) return
    while (log.writing) await log.writing
    if (log.pending.length === 0) this.jobs.delete(jobId)
  }

  private async drain(jobId: string, log: JobLog): Promise<void> {
    // A microtask first, so the lines a handler logs in one go share the write.
    await Promise.resolve()
    try {
      while (log.pending.length > 0) {
        if (log.next === null) log.next = await nextLogOffset(this.ctx, jobId)
        const batch = log.pending
        log.pending = []
        const offset = log.next
        log.next += batch.length
        await appendLogLines(this.ctx, jobId, offset, batch)
        this.onStored?.(jobId, offset, batch.length)
      }
    } catch (error) {
      // The lines are lost, not the job: a log is best effort next to the job's outcome.
      log.pending = []
      log.next = null
      this.onError(error)
    } finally {
      log.writing = null
    }
  }
}
