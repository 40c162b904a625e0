import { ApiError } from '@edgeforge/protocol'
import { describeExpression, unsatisfied } from './scopes.ts'

// Light enough for the handler threads (threads/auth-cache.ts) to import: no store, no clients.

/** What a protected endpoint's handler sees as `ctx.auth`. */
export interface EndpointAuth {
  clientId: string
  scopes: readonly string[]
}

/** The gate's answer: the caller, or the error the gateway answers with (same body as the control plane). */
export type GateResult = { ok: true; auth: EndpointAuth } | { ok: false; error: ApiError }

/** The endpoint's verdict on a known caller: allowed with its ctx.auth, or the 403 (threads/auth-cache.ts decides the same way). */
export function decide(
  principal: { clientId: string; scopes: readonly string[] },
  required: readonly string[],
): GateResult {
  const missing = unsatisfied(principal.scopes, { AllOf: required as string[] })
  if (missing === undefined)
    return { ok: true, auth: { clientId: principal.clientId, scopes: principal.scopes } }
  return {
    ok: false,
    error: new ApiError(
      'insufficient_scopes',
      `client ${principal.clientId} lacks the scopes for this endpoint: needs ${describeExpression(missing)}`,
      { client_id: principal.clientId, required: missing, scopes: principal.scopes },
    ),
  }
}
