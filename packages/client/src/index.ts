import { type ClientOptions, Core } from './core.ts'
import { operations } from './operations.generated.ts'

export type { CallOptions, ClientOptions, OperationSpec, Page, Query, UploadBody } from './core.ts'
export { EdgeforgeError, EdgeforgeNetworkError } from './errors.ts'
export { SPECS } from './operations.generated.ts'
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry.ts'
export type { BodyOf, Data, Item, QueryOf } from './types.ts'

type Operations = ReturnType<typeof operations>

/**
 * The edgeforge control plane: one method per declared operation, grouped by context.
 *
 * @example
 * const ef = Edgeforge.fromEnv()
 * for await (const job of ef.jobs.listJobsAll({ queue: 'emails', state: 'failed' })) console.log(job.id)
 */
export class Edgeforge {
  readonly core: Core
  readonly auth: Operations['auth']
  readonly catalog: Operations['catalog']
  readonly deploy: Operations['deploy']
  readonly jobs: Operations['jobs']
  readonly services: Operations['services']
  readonly system: Operations['system']
  readonly workers: Operations['workers']

  constructor(options: ClientOptions) {
    this.core = new Core(options)
    const groups = operations(this.core)
    this.auth = groups.auth
    this.catalog = groups.catalog
    this.deploy = groups.deploy
    this.jobs = groups.jobs
    this.services = groups.services
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

  /** `url` (from a `…Url()` builder) signed so a GET works without credentials for `expiresIn` ms. */
  signUrl(url: string, options: { expiresIn: number }): Promise<string> {
    return this.core.signUrl(url, options.expiresIn)
  }

  readonly credentials = {
    /** A temporary credential derived offline from this client's access token, as the server verifies it. */
    temporary: async (options: { scopes: readonly string[]; expiresIn: number }): Promise<Edgeforge> =>
      new Edgeforge({
        ...this.core.options,
        clientId: undefined,
        accessToken: await this.core.temporaryCredential(options.scopes, options.expiresIn),
      }),
  }
}

export { type ArtifactInfo, type JobArtifacts, jobArtifacts } from './artifacts.ts'
export type { Operations }
