import { job } from '@edgeforge/sdk'

export default job<{ to: string }>(async (payload, ctx) => {
  ctx.log(`sending to ${payload.to}`)
  return { sent: true }
})
