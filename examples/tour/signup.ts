import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req, ctx) => {
  const { email } = req.json<{ email: string }>()
  const job = await ctx.jobs.enqueue('emails', { to: email }, { dedupKey: `welcome:${email}` })
  return Response.accepted({ job_id: job.id })
})
