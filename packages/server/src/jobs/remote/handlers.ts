import { createHash } from 'node:crypto'
import type { HandlerRef } from '@edgeforge/protocol'
import type { HandlerSource } from './session.ts'

export interface DeployedHandlerPort {
  /** The job endpoint serving `queue` and its current version, as this process runs it. */
  current(queue: string): { endpointId: string; endpointName: string; version: number } | undefined
  /** A stored version's bundle (the CommonJS text the gateway evaluates), if stored. */
  bundle(endpointId: string, version: number): Promise<string | undefined>
}

/**
 * The bundles remote agents run: the version the gateway would run for the queue, named by its
 * SHA-256 so an agent fetches each version once and checks what it got. Versions never change
 * once stored, so their hashes are computed once per process.
 */
export class DeployedHandlers implements HandlerSource {
  private readonly port: DeployedHandlerPort
  private readonly hashes = new Map<string, string>()

  constructor(port: DeployedHandlerPort) {
    this.port = port
  }

  async deployedFor(queue: string): Promise<HandlerRef | undefined> {
    const current = this.port.current(queue)
    if (!current) return undefined
    const sha256 =
      this.hashes.get(`${current.endpointId}@${current.version}`) ??
      (await this.bundle(current.endpointId, current.version))?.sha256
    if (!sha256) return undefined
    return {
      endpoint_id: current.endpointId,
      endpoint_name: current.endpointName,
      version: current.version,
      sha256,
    }
  }

  async bundle(endpointId: string, version: number): Promise<{ code: string; sha256: string } | undefined> {
    const code = await this.port.bundle(endpointId, version)
    if (code === undefined) return undefined
    const key = `${endpointId}@${version}`
    let sha256 = this.hashes.get(key)
    if (!sha256) {
      sha256 = createHash('sha256').update(code).digest('hex')
      this.hashes.set(key, sha256)
    }
    return { code, sha256 }
  }
}
