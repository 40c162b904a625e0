import { formatWithOptions } from 'node:util'

/** One line an endpoint's handler wrote with console.* or ctx.log. */
export interface EndpointLogEntry {
  time: number
  level: 'debug' | 'info' | 'warn' | 'error'
  requestId: string | null
  version: number | null
  message: string
}

/** A fixed-size ring: writing is O(1) and never allocates once full. */
class Ring {
  private readonly entries: EndpointLogEntry[] = []
  private next = 0
  private readonly capacity: number
  constructor(capacity: number) {
    this.capacity = capacity
  }

  push(entry: EndpointLogEntry): void {
    if (this.entries.length < this.capacity) this.entries.push(entry)
    else this.entries[this.next] = entry
    this.next = (this.next + 1) % this.capacity
  }

  /** The newest `limit` entries, oldest first (newest last). */
  tail(limit: number): EndpointLogEntry[] {
    const ordered =
      this.entries.length < this.capacity
        ? this.entries
        : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)]
    return ordered.slice(Math.max(0, ordered.length - limit))
  }
}

/** Per-endpoint log ring buffers, bounded in lines; what GET /api/endpoints/{id}/logs reads. */
export class EndpointLogs {
  private readonly rings = new Map<string, Ring>()
  private readonly linesPerEndpoint: number
  constructor(linesPerEndpoint: number) {
    this.linesPerEndpoint = linesPerEndpoint
  }

  append(endpointId: string, entry: EndpointLogEntry): void {
    let ring = this.rings.get(endpointId)
    if (!ring) {
      ring = new Ring(this.linesPerEndpoint)
      this.rings.set(endpointId, ring)
    }
    ring.push(entry)
  }

  read(endpointId: string, limit: number): EndpointLogEntry[] {
    return this.rings.get(endpointId)?.tail(limit) ?? []
  }

  forget(endpointId: string): void {
    this.rings.delete(endpointId)
  }
}

/** One log line from what a handler passed to console.* or ctx.log, the way console prints it. */
export function formatLogLine(args: unknown[]): string {
  return formatWithOptions({ breakLength: Number.POSITIVE_INFINITY }, ...args)
}
