import { Worker } from 'node:worker_threads'
import type { Command, Event, ThreadInit } from './protocol.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** A command as the supervisor writes it; the thread adds the id. */
export type Request = DistributiveOmit<Exclude<Command, { type: 'results' }>, 'id'>

/** What a request to a thread that died (or was stopped) before answering resolves to. */
export const GONE = Symbol('thread gone')

export interface ThreadLimits {
  /** The thread's V8 old-generation limit, in MB (Worker resourceLimits). */
  heapLimitMb: number
}

/**
 * One handler thread seen from the main thread: its Worker, its shared liveness cells and the
 * requests waiting for its replies. It only talks; deciding when to stop it is the supervisor's.
 */
export class HandlerThread {
  readonly index: number
  readonly worker: Worker
  readonly liveness: SharedArrayBuffer
  /** Set once it listens; a thread that is not ready is sent commands all the same (they queue). */
  ready = false
  /** Set when the supervisor ends it on purpose: its exit is then not a crash. */
  stopping = false
  /** Why the supervisor terminated it, when it did. */
  verdict: string | undefined
  private nextId = 1
  private readonly waiting = new Map<number, (value: unknown) => void>()
  private readonly failing = new Map<number, (error: Error) => void>()

  constructor(
    init: ThreadInit,
    limits: ThreadLimits,
    onEvent: (thread: HandlerThread, event: Event) => void,
  ) {
    this.index = init.index
    this.liveness = init.liveness
    this.worker = new Worker(new URL('./handler-thread.ts', import.meta.url), {
      workerData: init,
      // A handler sees none of the server's environment (tokens, database URL): only what the
      // operator gives an endpoint, and that arrives as ctx.env, not through process.env.
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: limits.heapLimitMb },
      stdout: false,
      stderr: false,
    })
    this.worker.on('message', (event: Event) => {
      if (event.type === 'reply') {
        const resolve = this.waiting.get(event.id)
        const reject = this.failing.get(event.id)
        this.waiting.delete(event.id)
        this.failing.delete(event.id)
        if (event.ok) resolve?.(event.value)
        else reject?.(new Error(event.error))
        return
      }
      onEvent(this, event)
    })
    this.worker.on('exit', () => this.abandon())
  }

  /** Sends a command; resolves with its reply, or GONE if the thread ends (or `timeoutMs` passes) first. */
  request<T>(command: Request, timeoutMs?: number): Promise<T | typeof GONE> {
    const id = this.nextId++
    return new Promise<T | typeof GONE>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        if (timer) clearTimeout(timer)
        this.waiting.delete(id)
        this.failing.delete(id)
      }
      this.waiting.set(id, (value) => {
        done()
        resolve(value as T | typeof GONE)
      })
      this.failing.set(id, (error) => {
        done()
        reject(error)
      })
      if (timeoutMs !== undefined) timer = setTimeout(() => this.waiting.get(id)?.(GONE), timeoutMs)
      try {
        this.worker.postMessage({ ...command, id })
      } catch (error) {
        done()
        reject(error)
      }
    })
  }

  send(command: Command): void {
    this.worker.postMessage(command)
  }

  terminate(verdict?: string): Promise<number> {
    this.stopping = true
    this.verdict ??= verdict
    return this.worker.terminate()
  }

  /** Every request still waiting gets GONE: the replacement thread starts from the bookkeeping. */
  private abandon(): void {
    for (const resolve of [...this.waiting.values()]) resolve(GONE)
    this.waiting.clear()
    this.failing.clear()
  }
}
