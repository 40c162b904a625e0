/** A length of time: milliseconds, or a number with a unit: '500ms', '30s', '15m', '1h', '7d'. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `duration` in ms; a RangeError naming `what` unless it is a positive, finite length. */
export function durationMs(duration: Duration, what: string): number {
  let ms: number
  if (typeof duration === 'number') ms = duration
  else {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration)
    if (!match)
      throw new RangeError(
        `${what} "${duration}" is not a duration: use ms, or a number and ms, s, m, h or d ('15m')`,
      )
    ms = Number(match[1]) * UNIT_MS[match[2]]
  }
  if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`${what} must be a positive length of time`)
  return Math.round(ms)
}
