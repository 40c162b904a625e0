import type { InputRow } from '../sql/inputs.ts'

const PAGE = 100
/** After a store error, the cursor reads again this much later (and at the next notice). */
const RETRY_MS = 1000

export interface InputCursorOptions {
  /** The job's stored input messages after `afterSeq`, in order (the engine's `readInputs`). */
  read(afterSeq: number, limit: number): Promise<InputRow[]>
  /** Hands one message to the run; false when the run can take no more (its socket closed). */
  deliver(row: InputRow): boolean
  /** The seq the run already has (0: none). */
  after?: number
  /** Deliver nothing until `release()` (the run is not ready to take input yet); pulls meanwhile are remembered. */
  held?: boolean
  onError?(error: unknown): void
}

/**
 * Hands one run of a job its stored input messages in seq order, each once: `pull()` reads what
 * is past the last message handed over and delivers it. Pulls that overlap are coalesced (the
 * one running reads again when it is done), so a message is never read twice into the same run;
 * a store error leaves the cursor where it was, and it reads again a second later.
 */
export class InputCursor {
  private readonly options: InputCursorOptions
  private seq: number
  private busy = false
  private again = false
  private closed = false
  private retry: NodeJS.Timeout | null = null
  private held: boolean
  private wanted = false

  constructor(options: InputCursorOptions) {
    this.options = options
    this.seq = options.after ?? 0
    this.held = options.held === true
  }

  /** Ends the hold: pulls when asked to (`pull`) or when a pull came meanwhile. */
  release(pull: boolean): void {
    if (!this.held) return
    this.held = false
    if (pull || this.wanted) void this.pull()
  }

  /** The highest seq handed to the run. */
  get delivered(): number {
    return this.seq
  }

  /** Reads and delivers what the run does not have yet; resolves once this pull is done. */
  async pull(): Promise<void> {
    if (this.closed) return
    if (this.held) {
      this.wanted = true
      return
    }
    if (this.busy) {
      this.again = true
      return
    }
    this.busy = true
    try {
      do {
        this.again = false
        for (;;) {
          const rows = await this.options.read(this.seq, PAGE)
          for (const row of rows) {
            if (this.closed || row.seq <= this.seq) continue
            if (!this.options.deliver(row)) {
              this.closed = true
              return
            }
            this.seq = row.seq
          }
          if (rows.length < PAGE || this.closed) break
        }
      } while (this.again && !this.closed)
    } catch (error) {
      this.options.onError?.(error)
      if (!this.closed && !this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null
          void this.pull()
        }, RETRY_MS)
        this.retry.unref()
      }
    } finally {
      this.busy = false
    }
  }

  /** No more deliveries (the run ended). */
  close(): void {
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
  }
}
