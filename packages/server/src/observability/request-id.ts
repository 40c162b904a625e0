import { getRandomValues } from 'node:crypto'

const ID_LENGTH = 36
/**
 * Most ids rendered at once. Each id is a slice of its batch's string and keeps it alive, so an id
 * held in a log holds at most this many ids' bytes; 16 already spreads the decode thin.
 */
const MAX_BATCH = 16
const HEX = new Uint8Array(16).map((_, digit) => digit.toString(16).charCodeAt(0))
const DASH = 0x2d
const SEVEN = 0x37

// Asking the OS for 16 fresh bytes per request showed as ~10% of a hello-world request's CPU;
// drawing from a 4 KiB pool refilled at once costs a fraction of that.
const pool = new Uint8Array(4096)
let poolOffset = pool.length

// Ids are rendered as ASCII into `text`, a batch at a time, and decoded into one flat string;
// each id is a slice of it. Building an id from 17 small strings instead cost about twice as much,
// most of it when node flattened the result to write the header.
const text = Buffer.allocUnsafe(MAX_BATCH * ID_LENGTH)
let batch = ''
let batchAt = -1
let batchSize = 0
let handedOut = 0
/** Adapts to the request rate: doubles when a batch runs out within its millisecond, halves when one is left over. */
let nextSize = 8

/** What a caller's own `x-request-id` may look like to be kept: a short token, safe in logs and headers. */
const ACCEPTED_ID = /^[\w.:-]{1,128}$/

/**
 * The request id of one request on either plane: the caller's `x-request-id` when it sent one
 * that is a sane token (so ids can be followed across services), else a fresh UUIDv7.
 */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && ACCEPTED_ID.test(given) ? given : newRequestId()
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Request ids sort by
 * arrival time, which keeps them readable in logs.
 */
export function newRequestId(now: number = Date.now()): string {
  if (handedOut === batchSize || now !== batchAt) {
    if (now === batchAt) nextSize = Math.min(MAX_BATCH, nextSize * 2)
    else if (handedOut < batchSize) nextSize = Math.max(1, nextSize >> 1)
    render(now, nextSize)
  }
  const start = handedOut * ID_LENGTH
  handedOut += 1
  return batch.slice(start, start + ID_LENGTH)
}

function render(now: number, count: number): void {
  if (poolOffset + count * 10 > pool.length) {
    getRandomValues(pool)
    poolOffset = 0
  }
  const high = Math.floor(now / 0x10000) >>> 0
  const low = now & 0xffff
  for (let id = 0; id < count; id++) {
    const at = id * ID_LENGTH
    const r = poolOffset
    poolOffset += 10
    // unix_ts_ms: 8 + 4 hex digits
    hex(at, high >>> 24)
    hex(at + 2, (high >>> 16) & 0xff)
    hex(at + 4, (high >>> 8) & 0xff)
    hex(at + 6, high & 0xff)
    text[at + 8] = DASH
    hex(at + 9, low >>> 8)
    hex(at + 11, low & 0xff)
    text[at + 13] = DASH
    // version 7, then 12 random bits
    text[at + 14] = SEVEN
    text[at + 15] = HEX[pool[r] & 0x0f]
    hex(at + 16, pool[r + 1])
    text[at + 18] = DASH
    // variant 0b10, then 62 random bits
    hex(at + 19, 0x80 | (pool[r + 2] & 0x3f))
    hex(at + 21, pool[r + 3])
    text[at + 23] = DASH
    for (let byte = 0; byte < 6; byte++) hex(at + 24 + 2 * byte, pool[r + 4 + byte])
  }
  batch = text.toString('latin1', 0, count * ID_LENGTH)
  batchAt = now
  batchSize = count
  handedOut = 0
}

function hex(at: number, byte: number): void {
  text[at] = HEX[byte >>> 4]
  text[at + 1] = HEX[byte & 0x0f]
}
