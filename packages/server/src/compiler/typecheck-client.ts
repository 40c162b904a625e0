import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { SDK_PACKAGE } from './deps.ts'
import type { TypeCheckerPaths, TypeCheckRequest } from './typecheck.ts'
import type { TypeCheckMessage } from './typecheck-worker.ts'
import type { Diagnostic } from './types.ts'

type Reply = { id: number; diagnostics: Diagnostic[] } | { id: number; error: string }

/**
 * Talks to the type checker in its worker thread. The worker starts on the first check, keeps its
 * LanguageService warm for every later one, and does not keep the process alive while idle.
 */
export class TypeCheckClient {
  private worker: Worker | undefined
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (d: Diagnostic[]) => void; reject: (e: Error) => void }
  >()
  private closed = false

  check(request: TypeCheckRequest): Promise<Diagnostic[]> {
    if (this.closed) return Promise.reject(new Error('the compiler is closed'))
    const worker = this.worker ?? this.start()
    const id = this.nextId++
    return new Promise<Diagnostic[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      if (this.pending.size === 1) worker.ref()
      worker.postMessage({ id, request } satisfies TypeCheckMessage)
    })
  }

  close(): void {
    this.closed = true
    const worker = this.worker
    this.worker = undefined
    this.failAll(new Error('the compiler is closed'))
    void worker?.terminate()
  }

  private start(): Worker {
    const worker = new Worker(new URL('./typecheck-worker.ts', import.meta.url), {
      workerData: findTypeCheckerPaths() satisfies TypeCheckerPaths,
    })
    worker.unref()
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id)
      if (!waiter) return
      this.pending.delete(reply.id)
      if (this.pending.size === 0) worker.unref()
      if ('error' in reply) waiter.reject(new Error(`the type checker failed: ${reply.error}`))
      else waiter.resolve(reply.diagnostics)
    })
    const crashed = (error: Error) => {
      if (this.worker === worker) this.worker = undefined
      this.failAll(error)
    }
    worker.on('error', (error) => crashed(new Error(`the type checker crashed: ${error.message}`)))
    worker.on('exit', (code) => crashed(new Error(`the type checker stopped (exit code ${code})`)))
    this.worker = worker
    return worker
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
