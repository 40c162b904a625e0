import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req, ctx) => {
  const page = req.requirePathParam('page')
  const visits = await ctx.cache('cache').incr(`visits:${page}`)
  const db = ctx.database('db')
  await db.execute('CREATE TABLE IF NOT EXISTS visits (page TEXT NOT NULL, at INTEGER NOT NULL)')
  await db.execute('INSERT INTO visits (page, at) VALUES (?, ?)', [page, Date.now()])
  const row = await db.queryOne<{ total: number }>('SELECT COUNT(*) AS total FROM visits')
  return Response.ok({ page, visits, total: row?.total })
})
