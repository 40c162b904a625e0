/**
 * Download counts kept in memory and added to the store in one transaction every flush interval
 * and on shutdown (as buildsrs does), so a download costs no write. A crash loses the counts of
 * at most one interval; a flush that fails keeps its counts for the next one.
 */
export class DownloadCounters {
  private pending = new Map<string, { jobId: string; name: string; count: number }>()
  private readonly write: (
    counts: ReadonlyMap<string, { jobId: string; name: string; count: number }>,
  ) => Promise<void>
  private flushing: Promise<void> | undefined

  constructor(write: DownloadCounters['write']) {
    this.write = write
  }

  count(jobId: string, name: string): void {
    const key = `${jobId}\u0000${name}`
    const entry = this.pending.get(key)
    if (entry) entry.count += 1
    else this.pending.set(key, { jobId, name, count: 1 })
  }

  /** Counted here and not yet in the store, for the list to add to what the store says. */
  unflushed(jobId: string, name: string): number {
    return this.pending.get(`${jobId}\u0000${name}`)?.count ?? 0
  }

  async flush(): Promise<void> {
    // One flush at a time: a second caller waits for the running one, then writes what came since.
    while (this.flushing) await this.flushing
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    this.flushing = this.write(batch)
      .catch((error: unknown) => {
        for (const [key, entry] of batch) {
          const now = this.pending.get(key)
          if (now) now.count += entry.count
          else this.pending.set(key, entry)
        }
        throw error
      })
      .finally(() => {
        this.flushing = undefined
      })
    await this.flushing
  }
}
