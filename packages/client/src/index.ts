import { type ClientOptions, Core } from './core.ts'
import type { Duration } from './duration.ts'
import { operations } from './operations.generated.ts'

export type {
  CallOptions,
  ClientOptions,
  Listing,
  OperationSpec,
  Page,
  Query,
  SignOptions,
  UploadBody,
} from './core.ts'
export { type Duration, durationMs } from './duration.ts'
export { EdgeforgeError, EdgeforgeNetworkError } from './errors.ts'
export type { EventFrame, EventStreamOptions } from './events.ts'
export { GROUPS, SPECS } from './operations.generated.ts'
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'
export type { BodyOf, Data, Item, QueryOf } from './types.ts'

type Operations = ReturnType<typeof operations>

/** Options of a temporary credential: its scopes (⊆ the issuer's) and lifetime (at most 31 days). */
export interface TemporaryOptions {
  scopes: readonly string[]
  expiresIn: Duration
}

/**
 * The edgeforge control plane: one method per declared operation, `ef.<group>.<method>()`, the
 * group the resource and the method its verb (docs/api.md, "Client").
 *
 * @example
 * const ef = Edgeforge.fromEnv()
 * const { data: ep } = await ef.endpoints.create({ name: 'hello', path: '/hello', method: 'GET', code })
 * await ef.endpoints.deploy(ep.id)
 * for await (const job of ef.jobs.list({ queue: 'emails', status: 'failed' })) console.log(job.id)
 */
export class Edgeforge {
  readonly core: Core
  readonly auth: Operations['auth']
  readonly domains: Operations['domains']
  readonly collections: Operations['collections']
  readonly endpoints: Operations['endpoints']
  /** Event streams: `for await (const frame of ef.events.queue('emails'))`, resumed by cursor after a disconnect. */
  readonly events: Operations['events']
  readonly queues: Operations['queues']
  readonly jobs: Operations['jobs']
  readonly cron: Operations['cron']
  readonly services: Operations['services']
  readonly storage: Operations['storage']
  readonly system: Operations['system']
  readonly workers: Operations['workers']

  constructor(options: ClientOptions) {
    this.core = new Core(options)
    const groups = operations(this.core)
    this.auth = groups.auth
    this.domains = groups.domains
    this.collections = groups.collections
    this.endpoints = groups.endpoints
    this.events = groups.events
    this.queues = groups.queues
    this.jobs = groups.jobs
    this.cron = groups.cron
    this.services = groups.services
    this.storage = groups.storage
    this.system = groups.system
    this.workers = groups.workers
  }

  /**
   * From EDGEFORGE_URL and EDGEFORGE_CLIENT_ID + EDGEFORGE_ACCESS_TOKEN, or EDGEFORGE_ADMIN_TOKEN
   * (what the CLI has always read) when no client is given.
   */
  static fromEnv(
    env: Record<string, string | undefined> = globalThis.process?.env ?? {},
    overrides: Partial<ClientOptions> = {},
  ): Edgeforge {
    const url = overrides.url ?? env.EDGEFORGE_URL ?? 'http://127.0.0.1:8081'
    const clientId = env.EDGEFORGE_CLIENT_ID || undefined
    const accessToken = clientId
      ? env.EDGEFORGE_ACCESS_TOKEN
      : env.EDGEFORGE_ACCESS_TOKEN || env.EDGEFORGE_ADMIN_TOKEN
    return new Edgeforge({ url, clientId, accessToken: accessToken || undefined, ...overrides })
  }

  /** A client whose requests are narrowed to `scopes` (x-edgeforge-authorized-scopes). */
  authorizedScopes(scopes: readonly string[]): Edgeforge {
    return new Edgeforge({ ...this.core.options, authorizedScopes: scopes })
  }

  /**
   * `url` (any GET's `…Url()`) signed so it works without credentials for `expiresIn`, with
   * WebCrypto, so in browsers too; the generated `…SignedUrl()` are the synchronous form.
   */
  signUrl(url: string, options: { expiresIn: Duration }): Promise<string> {
    return this.core.signUrl(url, options.expiresIn)
  }

  readonly credentials = {
    /**
     * A client on a temporary credential derived offline from this client's access token, as the
     * server verifies it (node:crypto, so synchronous; `temporaryAsync` in browsers).
     */
    temporary: (options: TemporaryOptions): Edgeforge =>
      this.onTemporary(this.core.temporaryCredentialSync(options.scopes, options.expiresIn)),
    /** `temporary`, with WebCrypto (browsers). */
    temporaryAsync: async (options: TemporaryOptions): Promise<Edgeforge> =>
      this.onTemporary(await this.core.temporaryCredential(options.scopes, options.expiresIn)),
  }

  /** The access token this client sends (a temporary credential's `eftemp.…` certificate included). */
  get accessToken(): string | undefined {
    return this.core.options.accessToken
  }

  private onTemporary(certificate: string): Edgeforge {
    return new Edgeforge({ ...this.core.options, clientId: undefined, accessToken: certificate })
  }
}

export { type ArtifactInfo, type JobArtifacts, jobArtifacts } from './artifacts.ts'
export type { Operations }
