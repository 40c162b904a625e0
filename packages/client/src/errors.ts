/** A 4xx (or a 5xx after the retries ran out) answered by the control plane, as its envelope said. */
export class EdgeforgeError extends Error {
  override readonly name = 'EdgeforgeError'
  readonly status: number
  /** The stable code from the registry (packages/protocol/src/errors.ts); switch on it. */
  readonly code: string
  readonly details: unknown
  /** The x-request-id the server answered with, to find the request in its logs. */
  readonly requestId: string | undefined

  constructor(
    status: number,
    code: string,
    message: string,
    details: unknown,
    requestId: string | undefined,
  ) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
    this.requestId = requestId
  }
}

/** The server could not be reached, or the connection dropped and the call was not safe to repeat. */
export class EdgeforgeNetworkError extends Error {
  override readonly name = 'EdgeforgeNetworkError'
}
