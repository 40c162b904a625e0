import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { SDK_PACKAGE } from './deps.ts'
import type { TypeCheckerPaths, TypeCheckRequest } from './typecheck.ts'
import type { TypeCheckMessage } from './typecheck-worker.ts'
import type { Diagnostic } from './types.ts'

type Reply = { id: number; diagnostics: Diagnostic[] } | { id: number; error: string }

export interface TypeCheckClientOptions {
  /**
   * Checks one worker serves before it is replaced by a fresh one (0: never). The
   * LanguageService's heap grows with every distinct handler it has seen and V8 does not give it
   * back; a fresh worker starts again from the parsed libraries alone.
   */
  recycleAfter?: number
  /** The worker's old-generation heap limit in MB (0: V8's default, about half the machine's memory). */
  maxHeapMb?: number
}

interface Waiter {
  request: TypeCheckRequest
  resolve: (d: Diagnostic[]) => void
  reject: (e: Error) => void
  /** Sent again once already, after a worker ran out of memory under it. */
  retried: boolean
}

/**
 * Talks to the type checker in its worker thread. The worker starts on the first check, keeps its
 * LanguageService warm for later ones, and does not keep the process alive while idle. After
 * `recycleAfter` checks, once idle, it is replaced by a fresh worker, warmed with the last
 * request; one that hits its heap limit is replaced too, and the checks it held are sent again
 * once.
 */
export class TypeCheckClient {
  private worker: Worker | undefined
  private nextId = 1
  private readonly pending = new Map<number, Waiter>()
  private closed = false
  private readonly recycleAfter: number
  private readonly maxHeapMb: number
  /** Checks the current worker has answered. */
  private served = 0
  private lastRequest: TypeCheckRequest | undefined
  /** Workers started so far (tests and the bench read it to see recycling happen). */
  workersStarted = 0

  constructor(options: TypeCheckClientOptions = {}) {
    this.recycleAfter = options.recycleAfter ?? 0
    this.maxHeapMb = options.maxHeapMb ?? 0
  }

  check(request: TypeCheckRequest): Promise<Diagnostic[]> {
    if (this.closed) return Promise.reject(new Error('the compiler is closed'))
    return new Promise<Diagnostic[]>((resolve, reject) => {
      this.send({ request, resolve, reject, retried: false })
    })
  }

  close(): void {
    this.closed = true
    const worker = this.worker
    this.worker = undefined
    this.failAll(new Error('the compiler is closed'))
    void worker?.terminate()
  }

  private send(waiter: Waiter): void {
    const worker = this.worker ?? this.start()
    const id = this.nextId++
    this.pending.set(id, waiter)
    if (this.pending.size === 1) worker.ref()
    worker.postMessage({ id, request: waiter.request } satisfies TypeCheckMessage)
  }

  private start(): Worker {
    const worker = new Worker(new URL('./typecheck-worker.ts', import.meta.url), {
      workerData: findTypeCheckerPaths() satisfies TypeCheckerPaths,
      ...(this.maxHeapMb > 0 && { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb } }),
    })
    this.workersStarted += 1
    this.served = 0
    worker.unref()
    worker.on('message', (reply: Reply) => {
      if (this.worker !== worker) return
      const waiter = this.pending.get(reply.id)
      if (!waiter) return
      this.pending.delete(reply.id)
      this.served += 1
      this.lastRequest = waiter.request
      if (this.pending.size === 0) worker.unref()
      if ('error' in reply) waiter.reject(new Error(`the type checker failed: ${reply.error}`))
      else waiter.resolve(reply.diagnostics)
      if (this.recycleAfter > 0 && this.served >= this.recycleAfter && this.pending.size === 0) this.recycle()
    })
    const crashed = (error: Error & { code?: string }) => {
      // A worker retired by `recycle` exits too; its checks were all answered.
      if (this.worker !== worker) return
      this.worker = undefined
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') return this.resend(error)
      this.failAll(error)
    }
    worker.on('error', (error) => {
      const wrapped = Object.assign(new Error(`the type checker crashed: ${error.message}`), {
        code: (error as { code?: string }).code,
      })
      crashed(wrapped)
    })
    worker.on('exit', (code) => crashed(new Error(`the type checker stopped (exit code ${code})`)))
    this.worker = worker
    return worker
  }

  /** Replaces the idle worker with a fresh one, warmed with the last check (nobody waits for it). */
  private recycle(): void {
    const old = this.worker
    this.worker = undefined
    void old?.terminate()
    if (this.closed || !this.lastRequest) return
    const fresh = this.start()
    fresh.postMessage({ id: this.nextId++, request: this.lastRequest } satisfies TypeCheckMessage)
  }

  /** After an out-of-memory crash: each check it held goes to a fresh worker, once. */
  private resend(error: Error): void {
    const waiters = [...this.pending.values()]
    this.pending.clear()
    for (const waiter of waiters) {
      if (waiter.retried || this.closed) {
        waiter.reject(
          new Error(`${error.message} (it ran out of its ${this.maxHeapMb} MB heap twice on this check)`),
        )
      } else {
        this.send({ ...waiter, retried: true })
      }
    }
  }

  private failAll(error: Error): void {
    const waiters = [...this.pending.values()]
    this.pending.clear()
    for (const waiter of waiters) waiter.reject(error)
  }
}

/** Finds the SDK's source (monorepo checkout first, installed package second) and `@types/node`. */
export function findTypeCheckerPaths(): TypeCheckerPaths {
  const inRepo = join(import.meta.dirname, '..', '..', '..', 'sdk', 'src', 'index.ts')
  let sdkEntry = inRepo
  if (!existsSync(inRepo)) {
    try {
      sdkEntry = createRequire(import.meta.url).resolve(SDK_PACKAGE)
    } catch {
      // Keep the monorepo path: the check then reports that the SDK cannot be found.
    }
  }
  let typeRoot: string | undefined
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '@types')
    if (existsSync(join(candidate, 'node', 'index.d.ts'))) {
      typeRoot = candidate
      break
    }
    if (dirname(dir) === dir) break
  }
  return { sdkEntry, typeRoot }
}
