import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { StreamFrame } from '@edgeforge/protocol'
import type { FrameSink } from './stream.ts'

/**
 * Server-Sent Events over a raw response: each frame is `event: <type>`, `id: <cursor>` when it
 * has one (so EventSource sends it back as Last-Event-ID), and `data: <json>`. `headers` are the
 * ones the app already set on the reply (x-request-id, CORS), which a hijacked reply would drop.
 */
export function sseSink(res: ServerResponse, headers: OutgoingHttpHeaders = {}): FrameSink {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.write('retry: 1000\n\n')
  const closers: Array<() => void> = []
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    for (const closer of closers) closer()
  }
  res.on('close', close)
  return {
    send(frame: StreamFrame, cursor?: string) {
      if (closed) return Promise.resolve()
      const body = frame.type === 'event' ? frame.event : frame.type === 'error' ? frame.error : frame
      const text = `event: ${frame.type}\n${cursor === undefined ? '' : `id: ${cursor}\n`}data: ${JSON.stringify(body)}\n\n`
      if (res.write(text)) return Promise.resolve()
      return new Promise((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    },
    end() {
      res.end()
      close()
    },
    onClose(listener) {
      if (closed) listener()
      else closers.push(listener)
    },
  }
}
