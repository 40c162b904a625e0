export {
  Authenticator,
  type CredentialsInput,
  missingCredentials,
  type Principal,
  readBearer,
} from './authenticator.ts'
export { type ClientRecord, ClientStore, ROOT_CLIENT_ID } from './clients.ts'
export { createTemporaryCredentials, SIGNED_URL_PARAM, signUrl } from './credentials.ts'
export { type EndpointAuth, EndpointGate, type GateResult } from './gate.ts'
export { type AuthGuard, authGuard, checkScopes, type GuardOptions, type ScopeLookups } from './guard.ts'
export { ClientRateLimiter } from './rate-limit.ts'
export { LOOKUP_PROVIDES, SCOPE_LOOKUPS, type ScopeLookup } from './route-scopes.ts'
export { authRoutes } from './routes.ts'
export { hasScope, type ScopeExpression, satisfies } from './scopes.ts'
