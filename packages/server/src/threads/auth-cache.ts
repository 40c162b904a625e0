import { decide } from '../auth/verdict.ts'
import type { EndpointGuard, GateVerdict } from '../gateway/dispatch.ts'

/**
 * The handler threads' side of protected endpoints (`auth: { scopes }`). The main thread owns the
 * clients and answers "who is this bearer" (`auth.principal` on the threads' call channel); each
 * thread keeps those answers per Authorization header for `ttlMs` and decides the scopes itself,
 * so a cached caller costs a Map lookup and a scope check, with no message to the main thread.
 *
 * A change to any client on this process (create, update, disable, reset, delete) is broadcast
 * to every thread (`auth-forget`), and the control-plane call answers once every thread dropped
 * its cache; a change made by another process sharing the database reaches this one within the
 * main thread's cache time plus `ttlMs` (docs/api.md, "Protected endpoints").
 */

/** A principal as it crosses from the main thread: who, what it holds, until when. */
export interface WirePrincipal {
  clientId: string
  scopes: readonly string[]
  /** When the credential stops working (UTC ms), if it does (a temporary credential). */
  expiresAt: number | null
}

export type PrincipalAnswer =
  | { ok: true; principal: WirePrincipal }
  | { ok: false; status: number; body: { error: { code: string; message: string } } }

interface Entry {
  principal: WirePrincipal
  at: number
  /** The last decision and the endpoint's scopes array it was made for (one array per endpoint). */
  required?: readonly string[]
  verdict?: GateVerdict
}

const LIMIT = 10_000

export class ThreadAuthCache implements EndpointGuard {
  private entries = new Map<string, Entry>()
  private readonly ask: (authorization: string | undefined) => Promise<PrincipalAnswer>
  private readonly ttlMs: number
  private readonly now: () => number
  /** Bumped by `forget`: an answer to a question asked before a forget is not cached. */
  private generation = 0

  /** `ask` is the call to the main thread. */
  constructor(options: {
    ask: (authorization: string | undefined) => Promise<PrincipalAnswer>
    ttlMs: number
    now?: () => number
  }) {
    this.ask = options.ask
    this.ttlMs = options.ttlMs
    this.now = options.now ?? Date.now
  }

  /** Drops every cached principal (a client changed). */
  forget(): void {
    this.generation++
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }

  check(authorization: string | undefined, required: readonly string[]): GateVerdict | Promise<GateVerdict> {
    if (authorization !== undefined) {
      const entry = this.entries.get(authorization)
      if (entry) {
        const now = this.now()
        if (now - entry.at < this.ttlMs && (entry.principal.expiresAt ?? Number.POSITIVE_INFINITY) > now) {
          if (entry.required !== required) {
            entry.required = required
            entry.verdict = this.decide(entry.principal, required)
          }
          return entry.verdict as GateVerdict
        }
        this.entries.delete(authorization)
      }
    }
    const asked = this.now()
    const generation = this.generation
    return this.ask(authorization).then((answer) => {
      if (!answer.ok) return { ok: false, error: { status: answer.status, toBody: () => answer.body } }
      // A forget that raced the question must not be outlived by its answer; `at` is when it was asked.
      if (authorization !== undefined && this.ttlMs > 0 && generation === this.generation) {
        if (this.entries.size >= LIMIT) this.entries.clear()
        this.entries.set(authorization, { principal: answer.principal, at: asked })
      }
      return this.decide(answer.principal, required)
    })
  }

  /** The same decision, and the same 403 body, as the main thread's EndpointGate (auth/gate.ts). */
  private decide(principal: WirePrincipal, required: readonly string[]): GateVerdict {
    return decide(principal, required)
  }
}
