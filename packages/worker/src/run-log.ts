import type { LogMessage, WireLogLine } from '@edgeforge/protocol'

/** Caps the lines every job of one agent holds unacknowledged together. */
export class LogBudget {
  readonly max: number
  used = 0

  constructor(max: number) {
    this.max = max
  }
}

const CHUNK_LINES = 1000

/**
 * One run's log on the agent: lines numbered from the offset the server gave, kept until the
 * server acknowledges them, so a reconnect resends exactly what is not stored. Past the agent's
 * budget, lines are dropped and counted; the count is logged as a line once there is room again.
 */
export class RunLog {
  private readonly budget: LogBudget
  /** Lines `acked` … `next - 1` start at `lines[head]` (acknowledged ones are cut off in bulk, not one splice per ack). */
  private lines: WireLogLine[] = []
  private head = 0
  private acked: number
  private sent: number
  private next: number
  private dropped = 0
  droppedTotal = 0

  constructor(offset: number, budget: LogBudget) {
    this.acked = offset
    this.sent = offset
    this.next = offset
    this.budget = budget
  }

  append(line: string): void {
    if (this.dropped > 0 && this.budget.used < this.budget.max) {
      const count = this.dropped
      this.dropped = 0
      this.push(`… ${count} log lines dropped: the agent's log buffer (${this.budget.max} lines) was full`)
    }
    if (this.budget.used >= this.budget.max) {
      this.dropped += 1
      this.droppedTotal += 1
      return
    }
    this.push(line)
  }

  private push(line: string): void {
    this.lines.push([Date.now(), line])
    this.next += 1
    this.budget.used += 1
  }

  /** Every stored line below `offset`: forget them. */
  ack(offset: number): void {
    if (offset <= this.acked) return
    const drop = Math.min(offset, this.next) - this.acked
    this.head += drop
    if (this.head >= 4096 && this.head * 2 >= this.lines.length) {
      this.lines = this.lines.slice(this.head)
      this.head = 0
    }
    this.budget.used -= drop
    this.acked += drop
    if (this.sent < this.acked) this.sent = this.acked
  }

  /** After a reconnect: the server has everything below `offset`; send again from there. */
  resumeFrom(offset: number): void {
    this.ack(offset)
    this.sent = this.acked
  }

  /** The chunks not sent yet, and marks them sent. */
  unsent(jobId: string, attempt: number): LogMessage[] {
    const chunks: LogMessage[] = []
    while (this.sent < this.next) {
      const from = this.head + this.sent - this.acked
      const lines = this.lines.slice(from, from + CHUNK_LINES)
      chunks.push({ type: 'log', job_id: jobId, attempt, offset: this.sent, lines })
      this.sent += lines.length
    }
    return chunks
  }

  get pending(): number {
    return this.next - this.acked
  }

  /** The run is over for good (lease lost): give its budget back. */
  discard(): void {
    this.budget.used -= this.lines.length - this.head
    this.lines = []
    this.head = 0
    this.acked = this.next
    this.sent = this.next
  }
}
