import { Edgeforge, EdgeforgeError, EdgeforgeNetworkError } from '@edgeforge/client'
import type { ClientSettings } from '../config.ts'

/** A failed control-plane call, with the server's stable code and details (the client's error). */
export { EdgeforgeError as ControlError } from '@edgeforge/client'

/** The Edgeforge client of the CLI's settings (--url, --token, --client-id or their variables). */
export function clientOf(settings: ClientSettings): Edgeforge {
  return new Edgeforge({
    url: settings.url,
    clientId: settings.clientId || undefined,
    accessToken: settings.token || undefined,
  })
}

/**
 * The CLI's calls by path, on @edgeforge/client (its retries, errors and credentials); the new
 * commands call the client's typed methods directly.
 */
export class ControlClient {
  readonly baseUrl: string
  readonly ef: Edgeforge

  constructor(baseUrl: string, token: string, clientId = '') {
    this.ef = clientOf({ url: baseUrl, token, clientId })
    this.baseUrl = this.ef.core.url
  }

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ data: T; continuation_token?: string | null }> {
    try {
      const page = await this.ef.core.request<T>(method, path, body)
      return { data: page.data, continuation_token: page.continuationToken }
    } catch (error) {
      throw withHint(error)
    }
  }

  /** Every item of a paged list route. */
  async all<T>(path: string): Promise<T[]> {
    const items: T[] = []
    let token: string | null | undefined
    do {
      const sep = path.includes('?') ? '&' : '?'
      const page = await this.call<T[]>(
        'GET',
        `${path}${sep}limit=1000${token ? `&continuation_token=${encodeURIComponent(token)}` : ''}`,
      )
      items.push(...page.data)
      token = page.continuation_token
    } while (token)
    return items
  }

  /** The endpoint called `name`; undefined when there is none (names are unique). */
  async endpointNamed<T extends { id: string }>(name: string): Promise<T | undefined> {
    return (await this.call<T[]>('GET', `/api/endpoints?name=${encodeURIComponent(name)}`)).data[0]
  }
}

/** An unreachable server gets the CLI's hint on what to check. */
export function withHint(error: unknown): unknown {
  if (error instanceof EdgeforgeNetworkError && !(error instanceof EdgeforgeError))
    return new EdgeforgeNetworkError(
      `${error.message}: is "edgeforge serve" running? Set --url or EDGEFORGE_URL otherwise.`,
      { cause: error },
    )
  return error
}
