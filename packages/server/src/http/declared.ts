import type { Operation } from '@edgeforge/protocol'

/**
 * The Fastify route options of a declared operation: method, URL and schemas come from the
 * declaration in `@edgeforge/protocol`, so a context's routes.ts only binds a handler to it:
 *
 * @example
 * app.route({ ...declared(catalogApi.getDomain), handler: async (req) => ok(…) })
 */
export function declared<const O extends Operation>(operation: O) {
  const schema: Record<string, unknown> = {
    operationId: operation.name,
    tags: [operation.context],
    summary: operation.summary,
  }
  if (operation.description) schema.description = operation.description
  if (operation.params) schema.params = operation.params
  if (operation.query) schema.querystring = operation.query
  if (operation.body) schema.body = operation.body
  // A non-JSON body (Prometheus text) is sent as the handler wrote it, not serialized.
  if (!operation.produces) schema.response = operation.responses
  return {
    method: operation.method,
    url: operation.path.replaceAll(/\{(\w+)\}/g, ':$1'),
    // Typed as the declaration's schemas, so the handler's request and reply are typed from them.
    schema: schema as {
      params: O['params']
      querystring: O['query']
      body: O['body']
      response: O['responses']
    },
    // The declaration rides on the route, so hooks can read it (e.g. the scope expression to check).
    config: { operation: operation as Operation },
  }
}
