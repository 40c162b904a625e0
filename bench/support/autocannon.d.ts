// autocannon ships no types; this declares the part of its programmatic API the benchmarks use.
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    pipelining?: number
    /** Seconds. */
    duration?: number
    /** Seconds without a response before a request counts as a timeout. */
    timeout?: number
    headers?: Record<string, string>
    title?: string
  }

  interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
  }

  interface Result {
    title?: string
    url: string
    connections: number
    pipelining: number
    /** Seconds the run lasted. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
    /** Milliseconds, 1 ms resolution. */
    latency: Histogram
    /** Requests per second, sampled once a second; `total` is every completed request. */
    requests: Histogram & { sent: number }
    /** Bytes per second. */
    throughput: Histogram
  }

  interface Instance {
    stop(): void
    /** Every response: its status, size in bytes and latency in ms (a float, unlike `Result.latency`). */
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, bytes: number, latencyMs: number) => void,
    ): this
  }

  function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance

  export default autocannon
  export type { Options, Result }
}
