/**
 * The error codes the SDK produces and their HTTP statuses. They are a subset of the registry in
 * `@edgeforge/protocol`, repeated here because the SDK carries no runtime dependencies;
 * `codes.test.ts` keeps the two in step.
 */
export const SDK_ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  internal: 500,
  service_unavailable: 503,
  service_busy: 503,
  service_timeout: 504,
} as const

export type SdkErrorCode = keyof typeof SDK_ERROR_STATUS

/** The body every SDK error response carries: `{ error: { code, message } }`, plus the request id when known. */
export function errorBody(code: string, message: string, requestId?: string): string {
  const error = { code, message }
  return JSON.stringify(requestId === undefined ? { error } : { error, request_id: requestId })
}
