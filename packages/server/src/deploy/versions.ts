import type { Db } from '../store/index.ts'

/** A compiled version as stored: what a restart or a start loads without compiling again. */
export interface StoredArtifact {
  bundle: string
  sourceMap: string
}

/**
 * The `endpoint_versions` table: every successful compile of an endpoint, numbered from 1, with
 * the source and dependencies it was built from and the artifact it produced.
 */
export class VersionStore {
  private readonly db: Db

  constructor(db: Db) {
    this.db = db
  }

  /** Whether `version` was built from exactly this source and these dependencies. */
  async builtFrom(
    endpointId: string,
    version: number,
    source: string,
    dependencies: Record<string, string>,
  ): Promise<boolean> {
    const stored = await this.db.get<{ source: string; dependencies: string }>(
      'SELECT source, dependencies FROM endpoint_versions WHERE endpoint_id = ? AND version = ?',
      [endpointId, version],
    )
    return stored !== undefined && stored.source === source && stored.dependencies === canonical(dependencies)
  }

  /** The number the endpoint's next version gets. */
  async nextNumber(endpointId: string): Promise<number> {
    const row = await this.db.get<{ latest: number | null }>(
      'SELECT MAX(version) AS latest FROM endpoint_versions WHERE endpoint_id = ?',
      [endpointId],
    )
    return (row?.latest ?? 0) + 1
  }

  async add(
    endpointId: string,
    version: number,
    built: { source: string; dependencies: Record<string, string> } & StoredArtifact,
  ): Promise<void> {
    await this.db.run(
      'INSERT INTO endpoint_versions (endpoint_id, version, source, dependencies, bundle, source_map, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        endpointId,
        version,
        built.source,
        canonical(built.dependencies),
        built.bundle,
        built.sourceMap,
        Date.now(),
      ],
    )
  }

  /** The artifact of a version; undefined when none is stored. */
  async artifact(endpointId: string, version: number): Promise<StoredArtifact | undefined> {
    const stored = await this.db.get<{ bundle: string; source_map: string }>(
      'SELECT bundle, source_map FROM endpoint_versions WHERE endpoint_id = ? AND version = ?',
      [endpointId, version],
    )
    return stored && { bundle: stored.bundle, sourceMap: stored.source_map }
  }
}

/** Dependencies as stored: sorted by name, so the same set always compares equal. */
function canonical(dependencies: Record<string, string>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
  )
}
