import type { Db } from '../../store/index.ts'

/** One stored artifact, as the service works with it (UTC ms). */
export interface ArtifactRecord {
  jobId: string
  name: string
  blobKey: string
  size: number
  sha256: string
  contentType: string
  createdAt: number
  downloads: number
}

interface Row {
  job_id: string
  name: string
  blob_key: string
  size: number | string
  sha256: string
  content_type: string
  created_at: number | string
  downloads: number | string
}

const COLUMNS = 'job_id, name, blob_key, size, sha256, content_type, created_at, downloads'

function record(row: Row): ArtifactRecord {
  return {
    jobId: row.job_id,
    name: row.name,
    blobKey: row.blob_key,
    size: Number(row.size),
    sha256: row.sha256,
    contentType: row.content_type,
    createdAt: Number(row.created_at),
    downloads: Number(row.downloads),
  }
}

/** The job_artifacts and job_artifact_garbage tables (migration 0014). */
export class ArtifactRows {
  private readonly db: Db
  constructor(db: Db) {
    this.db = db
  }

  /** The job's queue, or undefined when there is no such job. */
  async jobQueue(jobId: string): Promise<string | undefined> {
    const row = await this.db.get<{ queue: string }>('SELECT queue FROM jobs WHERE id = ?', [jobId])
    return row?.queue
  }

  async list(jobId: string): Promise<ArtifactRecord[]> {
    const rows = await this.db.all<Row>(
      `SELECT ${COLUMNS} FROM job_artifacts WHERE job_id = ? ORDER BY name`,
      [jobId],
    )
    return rows.map(record)
  }

  async get(jobId: string, name: string): Promise<ArtifactRecord | undefined> {
    const row = await this.db.get<Row>(`SELECT ${COLUMNS} FROM job_artifacts WHERE job_id = ? AND name = ?`, [
      jobId,
      name,
    ])
    return row ? record(row) : undefined
  }

  /**
   * Records a complete upload; a row of the same name is replaced (its download count kept) and
   * its blob queued for deletion, in one transaction.
   */
  async put(artifact: Omit<ArtifactRecord, 'downloads'>): Promise<ArtifactRecord> {
    return this.db.transaction(async (tx) => {
      const old = await tx.get<{ blob_key: string; downloads: number | string }>(
        'SELECT blob_key, downloads FROM job_artifacts WHERE job_id = ? AND name = ?',
        [artifact.jobId, artifact.name],
      )
      await tx.run(
        `INSERT INTO job_artifacts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
         ON CONFLICT (job_id, name) DO UPDATE SET blob_key = excluded.blob_key, size = excluded.size,
           sha256 = excluded.sha256, content_type = excluded.content_type, created_at = excluded.created_at`,
        [
          artifact.jobId,
          artifact.name,
          artifact.blobKey,
          artifact.size,
          artifact.sha256,
          artifact.contentType,
          artifact.createdAt,
        ],
      )
      if (old)
        await tx.run('INSERT INTO job_artifact_garbage (blob_key, queued_at) VALUES (?, ?)', [
          old.blob_key,
          artifact.createdAt,
        ])
      return { ...artifact, downloads: old ? Number(old.downloads) : 0 }
    })
  }

  /** Adds buffered download counts; a row deleted meanwhile just takes none. */
  async addDownloads(counts: ReadonlyMap<string, { jobId: string; name: string; count: number }>) {
    if (counts.size === 0) return
    await this.db.transaction(async (tx) => {
      for (const { jobId, name, count } of counts.values())
        await tx.run('UPDATE job_artifacts SET downloads = downloads + ? WHERE job_id = ? AND name = ?', [
          count,
          jobId,
          name,
        ])
    })
  }

  /**
   * Moves the artifacts of jobs that no longer exist (swept by retention, or deleted) to the
   * garbage list, up to `limit`; returns how many.
   */
  async collectOrphans(limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const orphans = await tx.all<{ job_id: string; name: string; blob_key: string }>(
        `SELECT a.job_id, a.name, a.blob_key FROM job_artifacts a
         WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = a.job_id) LIMIT ${limit}`,
      )
      const now = Date.now()
      for (const orphan of orphans) {
        await tx.run(
          'INSERT INTO job_artifact_garbage (blob_key, queued_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
          [orphan.blob_key, now],
        )
        await tx.run('DELETE FROM job_artifacts WHERE job_id = ? AND name = ?', [orphan.job_id, orphan.name])
      }
      return orphans.length
    })
  }

  async garbage(limit: number): Promise<string[]> {
    const rows = await this.db.all<{ blob_key: string }>(
      `SELECT blob_key FROM job_artifact_garbage ORDER BY queued_at LIMIT ${limit}`,
    )
    return rows.map((row) => row.blob_key)
  }

  async forget(blobKey: string): Promise<void> {
    await this.db.run('DELETE FROM job_artifact_garbage WHERE blob_key = ?', [blobKey])
  }
}
