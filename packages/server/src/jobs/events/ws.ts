import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { StreamFrame } from '@edgeforge/protocol'
import { type WebSocket, WebSocketServer } from 'ws'
import type { FrameSink } from './stream.ts'

/** The paths whose upgrade requests are event streams (the SSE routes' paths). */
const EVENT_STREAM_PATH = /^\/(?:events|queue\/[^/]+\/events|jobs\/[^/]+\/events)$/

export function isEventStreamPath(pathname: string): boolean {
  return EVENT_STREAM_PATH.test(pathname)
}

interface PendingUpgrade {
  socket: Duplex
  head: Buffer
}

const pending = new WeakMap<IncomingMessage, PendingUpgrade>()
/** Subscribers send nothing that matters; anything large is refused by the library. */
const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 })

/**
 * Hands an upgrade request to the control app's router, so it passes the same hooks as any request
 * (host, credentials, rate limit, scopes, query validation) and reaches the route's handler, which
 * either upgrades it (`acceptUpgrade`) or answers with an ordinary HTTP status written to the
 * socket, after which the connection closes.
 */
export function routeUpgrade(
  routing: (req: IncomingMessage, res: ServerResponse) => void,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  pending.set(req, { socket, head })
  const res = new ServerResponse(req)
  res.shouldKeepAlive = false
  res.assignSocket(socket as Socket)
  res.on('finish', () => socket.end())
  routing(req, res)
}

/** Whether this request came in as an upgrade (through `routeUpgrade`). */
export function isUpgrade(req: IncomingMessage): boolean {
  return pending.has(req)
}

/** Completes the WebSocket handshake of a request `routeUpgrade` routed (after its reply is hijacked). */
export function acceptUpgrade(
  req: IncomingMessage,
  res: ServerResponse,
  onOpen: (ws: WebSocket, socket: Duplex) => void,
): void {
  const upgrade = pending.get(req)
  if (!upgrade) throw new Error('acceptUpgrade: not an upgrade request')
  pending.delete(req)
  res.detachSocket(upgrade.socket as Socket)
  wss.handleUpgrade(req, upgrade.socket, upgrade.head, (ws) => onOpen(ws, upgrade.socket))
}

/** Past this many bytes queued on the socket, a send waits until they are written (backpressure). */
const HIGH_WATER = 1024 * 1024

/**
 * A stream over a WebSocket: each frame is one JSON text message (the StreamFrame itself). With
 * the connection's `socket`, the messages sent in one turn of the event loop leave in one write
 * (it is corked until the next tick), as an SSE response's frames do: a batch of events costs one
 * system call, not one per message.
 */
export function wsSink(ws: WebSocket, socket?: Duplex): FrameSink {
  const closers: Array<() => void> = []
  let closed = false
  let corked = false
  const uncork = () => {
    corked = false
    socket?.uncork()
  }
  const close = () => {
    if (closed) return
    closed = true
    for (const closer of closers) closer()
  }
  ws.on('close', close)
  ws.on('error', close)
  return {
    send(frame: StreamFrame) {
      if (closed || ws.readyState !== ws.OPEN) return Promise.resolve()
      if (socket && !corked) {
        corked = true
        socket.cork()
        process.nextTick(uncork)
      }
      const text = JSON.stringify(frame)
      // Below the mark the stream goes on at once; past it, once this message is written.
      if (ws.bufferedAmount < HIGH_WATER) {
        ws.send(text)
        return Promise.resolve()
      }
      return new Promise((resolve) => ws.send(text, () => resolve()))
    },
    end() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000, 'stream ended')
      close()
    },
    onClose(listener) {
      if (closed) listener()
      else closers.push(listener)
    },
  }
}
