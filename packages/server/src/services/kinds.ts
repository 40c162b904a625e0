import { memcachedKind } from './cache/memcached.ts'
import { memoryKind } from './cache/memory.ts'
import { redisKind } from './cache/redis.ts'
import { mysqlKind } from './db/mysql.ts'
import { postgresKind } from './db/postgres.ts'
import { sqliteKind } from './db/sqlite.ts'
import { smtpKind } from './email/smtp.ts'
import { ftpKind } from './files/kind.ts'
import type { ServiceKind } from './kind.ts'
import { filesystemKind } from './storage/filesystem.ts'
import { s3Kind } from './storage/s3.ts'

/** Every kind of service there is. `mongodb` is not among them: no server to test it against here. */
export const KINDS: ReadonlyMap<string, ServiceKind> = new Map<string, ServiceKind>(
  (
    [
      sqliteKind,
      postgresKind,
      mysqlKind,
      memoryKind,
      redisKind,
      memcachedKind,
      filesystemKind,
      s3Kind,
      ftpKind,
      smtpKind,
    ] as ServiceKind[]
  ).map((kind) => [kind.type, kind]),
)

export function kindOf(type: string): ServiceKind {
  const kind = KINDS.get(type)
  if (!kind) throw new RangeError(`unknown service type "${type}"`)
  return kind
}
