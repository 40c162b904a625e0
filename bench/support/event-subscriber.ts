// One subscriber of an event stream, in a process of its own so the server's CPU and the
// subscriber's are measured apart: reads `count` event frames from `url` over SSE or a WebSocket,
// parsing each, and prints one JSON line — events, seconds from the request to the last one, and
// this process's CPU (µs) over the same window.
//
//   node bench/support/event-subscriber.ts sse|ws <url> <count>
import WebSocket from 'ws'
import { sseEvents } from './sse.ts'

const [mode, url, countText] = process.argv.slice(2)
const count = Number(countText)
if ((mode !== 'sse' && mode !== 'ws') || !url || !Number.isInteger(count) || count < 1) {
  console.error('usage: event-subscriber.ts sse|ws <url> <count>')
  process.exit(2)
}

async function sse(): Promise<number> {
  const stream = await fetch(url, { headers: { accept: 'text/event-stream' } })
  if (!stream.body) throw new Error(`the event stream did not open: HTTP ${stream.status}`)
  let events = 0
  for await (const _ of sseEvents(stream.body)) {
    events += 1
    if (events >= count) break
  }
  return events
}

function ws(): Promise<number> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'))
  let events = 0
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type !== 'event') return
      events += 1
      if (events === count) {
        socket.terminate()
        resolve(events)
      }
    })
  })
}

const started = performance.now()
const cpuAt = process.cpuUsage()
const events = mode === 'sse' ? await sse() : await ws()
const cpu = process.cpuUsage(cpuAt)
console.log(
  JSON.stringify({ events, seconds: (performance.now() - started) / 1000, cpuMicros: cpu.user + cpu.system }),
)
process.exit(0)
