import assert from 'node:assert/strict'
import { WebSocket } from 'ws'
import type { TestServer } from './server.ts'

/** What a stream that did not open answered. */
export interface ErrorReply {
  ok: false
  error: { code: string; message: string; details?: unknown }
}

/** One Server-Sent Events frame as a client reads it. */
export interface SseFrame {
  event: string
  id?: string
  data: Record<string, unknown>
}

/**
 * The frames a stream client received, handed out one at a time with a timeout (so a test that
 * expects a frame fails instead of hanging). WebSocket frames are put in the SSE shape (`event` the
 * frame type, `id` its cursor, `data` what SSE would carry) so both forms are checked alike.
 */
export class FrameReader {
  protected readonly frames: SseFrame[] = []
  protected waiting: (() => void) | null = null
  ended = false

  protected push(frame: SseFrame): void {
    this.frames.push(frame)
    this.waiting?.()
  }

  protected finish(): void {
    this.ended = true
    this.waiting?.()
  }

  /** The next frame, or a failure after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs
    while (this.frames.length === 0) {
      if (this.ended) assert.fail('the stream ended')
      const left = deadline - Date.now()
      if (left <= 0) assert.fail(`no frame within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiting = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiting = null
    }
    return this.frames.shift() as SseFrame
  }

  /** The next `count` event frames (other frames in between are skipped but heartbeats allowed). */
  async events(count: number, timeoutMs = 5000): Promise<SseFrame[]> {
    const out: SseFrame[] = []
    while (out.length < count) {
      const frame = await this.next(timeoutMs)
      if (frame.event === 'event') out.push(frame)
      else
        assert.equal(
          frame.event,
          'heartbeat',
          `unexpected ${frame.event} frame ${JSON.stringify(frame.data)}`,
        )
    }
    return out
  }

  /** Frames up to and including the next heartbeat: what arrived before the stream went idle. */
  async untilHeartbeat(timeoutMs = 5000): Promise<{ before: SseFrame[]; heartbeat: SseFrame }> {
    const before: SseFrame[] = []
    for (;;) {
      const frame = await this.next(timeoutMs)
      if (frame.event === 'heartbeat') return { before, heartbeat: frame }
      before.push(frame)
    }
  }

  /**
   * The frames before the stream is idle at `cursor`: everything up to the first heartbeat that
   * carries it (a heartbeat sent earlier, under load, carries an older cursor and is skipped),
   * then checks nothing but heartbeats follow for a moment (no duplicate, nothing extra).
   */
  async untilIdleAt(cursor: string, timeoutMs = 10_000): Promise<SseFrame[]> {
    const before: SseFrame[] = []
    for (;;) {
      const frame = await this.next(timeoutMs)
      if (frame.event === 'heartbeat') {
        if (frame.data.cursor === cursor) break
        continue
      }
      before.push(frame)
    }
    const after = await this.untilHeartbeat(timeoutMs)
    assert.deepEqual(after.before, [], 'nothing after the stream went idle')
    assert.equal(after.heartbeat.data.cursor, cursor)
    return before
  }
}

/** A client of an event stream over Server-Sent Events (fetch, frames parsed as they arrive). */
export class SseClient extends FrameReader {
  readonly status: number
  private readonly abort: AbortController

  private constructor(status: number, abort: AbortController) {
    super()
    this.status = status
    this.abort = abort
  }

  static async open(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<SseClient | { status: number; body: ErrorReply }> {
    const abort = new AbortController()
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    })
    if (response.status !== 200 || !response.body)
      return { status: response.status, body: (await response.json()) as ErrorReply }
    const client = new SseClient(response.status, abort)
    void client.read(response.body)
    return client
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const frame: Partial<SseFrame> = {}
          let data = ''
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) frame.event = line.slice(7)
            else if (line.startsWith('id: ')) frame.id = line.slice(4)
            else if (line.startsWith('data: ')) data += line.slice(6)
          }
          if (frame.event) this.push({ event: frame.event, id: frame.id, data: JSON.parse(data) })
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted
    } finally {
      this.finish()
    }
  }

  close(): void {
    this.abort.abort()
  }
}

export function isClient(value: SseClient | { status: number; body: ErrorReply }): value is SseClient {
  return value instanceof SseClient
}

/** A client of an event stream over WebSocket: each text message is one StreamFrame. */
export class WsClient extends FrameReader {
  private readonly socket: WebSocket

  private constructor(socket: WebSocket) {
    super()
    this.socket = socket
    socket.on('message', (message) => {
      const frame = JSON.parse(message.toString()) as Record<string, unknown> & { type: string }
      const data = (
        frame.type === 'event' ? frame.event : frame.type === 'error' ? frame.error : frame
      ) as Record<string, unknown>
      const cursor = frame.type === 'event' ? data.cursor : frame.cursor
      this.push({ event: frame.type, id: typeof cursor === 'string' ? cursor : undefined, data })
    })
    socket.on('close', () => this.finish())
  }

  /** Opens `url` (http:// is turned into ws://); a refused upgrade gives its status and body. */
  static open(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<WsClient | { status: number; body: ErrorReply }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers })
      socket.on('open', () => resolve(new WsClient(socket)))
      socket.on('unexpected-response', (_req, res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorReply })
          socket.terminate()
        })
      })
      socket.on('error', (error) => reject(error))
    })
  }

  /** Resolves once the server has closed the socket (with its close code). */
  closed(timeoutMs = 5000): Promise<number> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve(1000)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs)
      this.socket.once('close', (code) => {
        clearTimeout(timer)
        resolve(code)
      })
    })
  }

  close(): void {
    this.socket.close()
  }
}

export function isWs(value: WsClient | { status: number; body: ErrorReply }): value is WsClient {
  return value instanceof WsClient
}

/** One job's whole life driven through the engine: enqueued, started, progress, log, succeeded. */
export async function recordRun(srv: TestServer, queue: string, fail = false): Promise<string> {
  const engine = srv.server.jobs.engine
  const { job } = await engine.enqueue({ queue, payload: { n: 1 } })
  const [claimed] = await engine.claim({ queues: [queue], owner: 'test-owner', limit: 1, leaseMs: 60_000 })
  assert.equal(claimed.id, job.id)
  await engine.setProgress(job.id, 0.5)
  await engine.appendLogChunk(job.id, 0, [
    [Date.now(), 'line one'],
    [Date.now(), 'line two'],
  ])
  if (fail) await engine.fail(job.id, 'test-owner', new Error('boom'), { unrecoverable: true })
  else await engine.complete(job.id, 'test-owner', { ok: true })
  await engine.events?.flush()
  return job.id
}

/** Opens a stream as one client form does (SSE or WebSocket), with extra headers. */
type Opener = (path: string, headers?: Record<string, string>) => Promise<FrameReader & { close(): void }>

/**
 * Two recorded runs on `queue` (one succeeding, one failing) read back from the cursor just
 * before them: the ten events, and the cursors to resume from (the one before, then each event's).
 */
export async function recordTwoRuns(
  srv: TestServer,
  open: Opener,
  queue: string,
): Promise<{ recorded: SseFrame[]; cursors: string[] }> {
  const start = await open('/events')
  const snapshot = await start.next()
  start.close()
  await recordRun(srv, queue)
  await recordRun(srv, queue, true)
  const all = await open(`/events?cursor=${snapshot.data.cursor}`)
  const recorded = await all.events(10)
  all.close()
  assert.deepEqual(
    recorded.slice(5).map((frame) => String(frame.data.type)),
    ['enqueued', 'started', 'progress', 'log', 'failed'],
  )
  return { recorded, cursors: [String(snapshot.data.cursor), ...recorded.map((frame) => String(frame.id))] }
}

/** Resumed at `cursors[index]`, a stream gives exactly the recorded events after it, no snapshot. */
export async function assertResumes(
  open: () => Promise<FrameReader & { close(): void }>,
  recorded: SseFrame[],
  cursors: string[],
  index: number,
  label: string,
): Promise<void> {
  const resumed = await open()
  const before = await resumed.untilIdleAt(cursors[cursors.length - 1])
  resumed.close()
  assert.deepEqual(
    before.map((frame) => frame.id),
    recorded.slice(index).map((frame) => frame.id),
    label,
  )
  assert.ok(
    before.every((frame) => frame.event === 'event'),
    'no snapshot when resuming',
  )
}
