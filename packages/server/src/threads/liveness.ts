/**
 * What a handler thread tells the supervisor's watchdog, through shared memory so that it stays
 * readable while the thread is stuck: the thread writes, the supervisor only reads. Times are
 * epoch milliseconds; a slot number names an endpoint (the supervisor hands them out).
 *
 * A plain write of a double is all the hot path does (twice per handler call), which is why this
 * is not a message: a stuck thread answers no message, and a message per request would cost more
 * than the request.
 */
export const LIVENESS_FIELDS = 5

const HEARTBEAT = 0
const CALL_DEADLINE = 1
const CALL_SLOT = 2
const PENDING_DEADLINE = 3
const PENDING_SLOT = 4

export function newLivenessBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(LIVENESS_FIELDS * Float64Array.BYTES_PER_ELEMENT)
}

/** The thread's side. */
export class LivenessWriter {
  readonly cells: Float64Array

  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Float64Array(buffer)
  }

  beat(pendingDeadline: number, pendingSlot: number): void {
    const cells = this.cells
    cells[HEARTBEAT] = Date.now()
    cells[PENDING_DEADLINE] = pendingDeadline
    cells[PENDING_SLOT] = pendingSlot
  }

  /** A handler is being called synchronously and must return by `deadline`. */
  enter(deadline: number, slot: number): void {
    this.cells[CALL_SLOT] = slot
    this.cells[CALL_DEADLINE] = deadline
  }

  exit(): void {
    this.cells[CALL_DEADLINE] = 0
  }

  /**
   * A handler returned a promise that must settle by `deadline`. Recorded at once, not at the next
   * beat: code that spins right after its first await would otherwise leave no trace.
   */
  pending(deadline: number, slot: number): void {
    const cells = this.cells
    if (cells[PENDING_DEADLINE] === 0 || deadline < cells[PENDING_DEADLINE]) {
      cells[PENDING_SLOT] = slot
      cells[PENDING_DEADLINE] = deadline
    }
  }
}

/** Why the watchdog gave up on a thread, and whose code was running. */
export interface Verdict {
  reason: string
  /** The endpoint slot whose handler held the thread; undefined when it cannot be told. */
  slot: number | undefined
}

/**
 * The supervisor's side: a thread is stuck when a handler call runs past its deadline plus
 * `graceMs`, when its event loop has not turned past the deadline of the oldest request it
 * holds, or when it has not turned for `stallMs` whatever it holds.
 */
export function judge(
  buffer: SharedArrayBuffer,
  now: number,
  graceMs: number,
  stallMs: number,
): Verdict | undefined {
  const cells = new Float64Array(buffer)
  const heartbeat = cells[HEARTBEAT]
  if (heartbeat === 0) return undefined // not started yet
  const callDeadline = cells[CALL_DEADLINE]
  if (callDeadline !== 0 && now > callDeadline + graceMs)
    return { reason: 'a handler call ran past its timeout', slot: cells[CALL_SLOT] }
  const silentFor = now - heartbeat
  if (silentFor <= Math.max(graceMs, 250)) return undefined
  const pendingDeadline = cells[PENDING_DEADLINE]
  if (pendingDeadline !== 0 && now > pendingDeadline + graceMs)
    return { reason: 'the thread stopped turning past a request timeout', slot: cells[PENDING_SLOT] }
  if (silentFor > stallMs)
    return { reason: `the thread did not turn for ${Math.round(silentFor)} ms`, slot: undefined }
  return undefined
}

/** The endpoint slot whose handler is inside a synchronous call right now, if one is. */
export function callingSlot(buffer: SharedArrayBuffer): number | undefined {
  const cells = new Float64Array(buffer)
  return cells[CALL_DEADLINE] !== 0 ? cells[CALL_SLOT] : undefined
}
