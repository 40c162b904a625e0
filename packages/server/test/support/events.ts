import assert from 'node:assert/strict'

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
 * A client of an event stream: opens it with fetch, parses frames as they arrive, and hands them
 * out one at a time with a timeout (so a test that expects a frame fails instead of hanging).
 */
export class SseClient {
  readonly status: number
  private readonly frames: SseFrame[] = []
  private waiting: (() => void) | null = null
  private readonly abort: AbortController
  ended = false

  private constructor(status: number, abort: AbortController) {
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
          if (frame.event) {
            this.frames.push({ event: frame.event, id: frame.id, data: JSON.parse(data) })
            this.waiting?.()
          }
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted
    } finally {
      this.ended = true
      this.waiting?.()
    }
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

  close(): void {
    this.abort.abort()
  }
}

export function isClient(value: SseClient | { status: number; body: ErrorReply }): value is SseClient {
  return value instanceof SseClient
}
