import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pg from 'pg'
import { backends, engineFor } from '../../../test/support/jobs.ts'
import type { Db } from '../../store/index.ts'

/** How many log lines are stored for each of `ids`. */
async function lineCounts(db: Db, ids: string[]): Promise<number[]> {
  const counts: number[] = []
  for (const id of ids) {
    const row = await db.get<{ n: number | string }>('SELECT count(*) AS n FROM job_logs WHERE job_id = ?', [
      id,
    ])
    counts.push(Number(row?.n ?? 0))
  }
  return counts
}

for (const [backend, open] of backends) {
  describe(`job logs on ${backend}`, () => {
    test("a statement that deletes jobs deletes their logs, and no other job's", async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const ids: string[] = []
      for (let i = 0; i < 4; i += 1) {
        const { job } = await engine.enqueue({ queue: 'logs' })
        ids.push(job.id)
        assert.equal(
          await engine.appendLogChunk(job.id, 0, [
            [1, `a${i}`],
            [2, `b${i}`],
          ]),
          true,
        )
        await engine.appendLog(job.id, `c${i}`)
      }
      assert.deepEqual(await lineCounts(store.db, ids), [3, 3, 3, 3])
      await engine.deleteJob(ids[0])
      await store.db.run('DELETE FROM jobs WHERE id IN (?, ?)', [ids[1], ids[2]])
      assert.deepEqual(await lineCounts(store.db, ids), [0, 0, 0, 3])
      // A job that is gone takes no lines.
      assert.equal(await engine.appendLogChunk(ids[0], 3, [[3, 'late']]), false)
      await assert.rejects(engine.appendLog(ids[1], 'late'), { code: 'not_found' })
      assert.deepEqual(await lineCounts(store.db, ids), [0, 0, 0, 3])
    })

    if (backend === 'postgres') {
      test('a log write and a delete of its job at once leave no line behind', async (t) => {
        const store = await open(t)
        if (!store) return
        const engine = engineFor(store)
        const url = (store.db as Db & { url: string }).url
        const other = new pg.Client({ connectionString: url })
        await other.connect()
        store.defer(() => other.end())

        // The delete first: the write waits for it, then finds no job.
        const { job: first } = await engine.enqueue({ queue: 'logs' })
        await other.query('BEGIN')
        await other.query('DELETE FROM jobs WHERE id = $1', [first.id])
        const write = engine.appendLogChunk(first.id, 0, [[1, 'racing']])
        await new Promise((resolve) => setTimeout(resolve, 100))
        await other.query('COMMIT')
        assert.equal(await write, false)
        assert.deepEqual(await lineCounts(store.db, [first.id]), [0])

        // The write first (uncommitted): the delete waits for it, then deletes the line with the job.
        const { job: second } = await engine.enqueue({ queue: 'logs' })
        await other.query('BEGIN')
        await other.query(
          "INSERT INTO job_logs (job_id, seq, at, line) SELECT id, 0, 1, 'racing' FROM jobs WHERE id = $1 FOR KEY SHARE",
          [second.id],
        )
        const removal = store.db.run('DELETE FROM jobs WHERE id = ?', [second.id])
        await new Promise((resolve) => setTimeout(resolve, 100))
        await other.query('COMMIT')
        assert.equal((await removal).changes, 1)
        assert.deepEqual(await lineCounts(store.db, [second.id]), [0])
      })
    }
  })
}
