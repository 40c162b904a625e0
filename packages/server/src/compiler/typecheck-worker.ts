import { parentPort, workerData } from 'node:worker_threads'
import { HandlerTypeChecker, type TypeCheckerPaths, type TypeCheckRequest } from './typecheck.ts'

// Runs the type checker off the main thread: a check takes ~1 s the first time (parsing lib.dom,
// @types/node and the SDK) and tens of milliseconds after, and the gateway must keep serving meanwhile.

export interface TypeCheckMessage {
  id: number
  request: TypeCheckRequest
}

if (parentPort) {
  const port = parentPort
  const checker = new HandlerTypeChecker(workerData as TypeCheckerPaths)
  port.on('message', (message: TypeCheckMessage) => {
    try {
      port.postMessage({ id: message.id, diagnostics: checker.check(message.request) })
    } catch (error) {
      port.postMessage({
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      })
    }
  })
}
