import type { ExecuteResult, Row } from '@edgeforge/sdk'

/** `query`, `queryOne` and `execute` arguments as they cross the caller seam. */
export function sqlArgs(args: readonly unknown[]): { sql: string; params: unknown[] } {
  const [sql, params] = args
  if (typeof sql !== 'string' || sql.trim() === '')
    throw new TypeError('the SQL text must be a non-empty string')
  if (params !== undefined && !Array.isArray(params)) throw new TypeError('params must be an array')
  return { sql, params: (params as unknown[] | undefined) ?? [] }
}

/** The three statements every SQL kind runs, on its own connection type. */
export interface SqlConnectionOps<C> {
  query(connection: C, sql: string, params: unknown[]): Promise<Row[]>
  execute(connection: C, sql: string, params: unknown[]): Promise<ExecuteResult>
}

/** The operations table of a SQL kind, built from its query and execute. */
export function sqlOperations<C>(ops: SqlConnectionOps<C>) {
  return {
    query: (connection: C, args: readonly unknown[]) => {
      const { sql, params } = sqlArgs(args)
      return ops.query(connection, sql, params)
    },
    queryOne: async (connection: C, args: readonly unknown[]) => {
      const { sql, params } = sqlArgs(args)
      return (await ops.query(connection, sql, params))[0] ?? null
    },
    execute: (connection: C, args: readonly unknown[]) => {
      const { sql, params } = sqlArgs(args)
      return ops.execute(connection, sql, params)
    },
  }
}
