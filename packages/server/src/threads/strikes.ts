/**
 * How many times each endpoint needed its handler thread stopped within a sliding window: the
 * count that decides quarantine.
 */
export class Strikes {
  private readonly windowMs: number
  private readonly limit: number
  private readonly times = new Map<string, number[]>()

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  /** Records a strike at `now` and returns how many fall within the window, this one included. */
  add(endpointId: string, now: number): number {
    const kept = (this.times.get(endpointId) ?? []).filter((time) => now - time < this.windowMs)
    kept.push(now)
    // Older strikes than the limit can never matter again.
    this.times.set(endpointId, kept.slice(-this.limit))
    return kept.length
  }

  clear(endpointId: string): void {
    this.times.delete(endpointId)
  }
}
