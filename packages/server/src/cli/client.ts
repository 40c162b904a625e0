import type { ErrorBody, ReplyBody } from '@edgeforge/protocol'

/** A failed control-plane call, with the server's stable code and details. */
export class ControlError extends Error {
  readonly code: string
  readonly status: number
  readonly details: unknown
  constructor(status: number, body: ErrorBody['error']) {
    super(body.message)
    this.code = body.code
    this.status = status
    this.details = body.details
  }
}

/** The small HTTP client the CLI uses to talk to the control plane. */
export class ControlClient {
  readonly baseUrl: string
  private readonly token: string

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.token = token
  }

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ data: T; continuation_token?: string | null }> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.token) headers.authorization = `Bearer ${this.token}`
    let response: globalThis.Response
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw new Error(
        `cannot reach the edgeforge control plane at ${this.baseUrl} (${(error as Error).cause ?? (error as Error).message}): is "edgeforge serve" running? Set --url or EDGEFORGE_URL otherwise.`,
      )
    }
    const text = await response.text()
    let parsed: ReplyBody<T>
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new Error(
        `unexpected answer from ${this.baseUrl}${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
      )
    }
    if (!parsed.ok)
      throw new ControlError(response.status, parsed.error ?? { code: 'internal', message: text })
    return { data: parsed.data, continuation_token: parsed.continuation_token }
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
