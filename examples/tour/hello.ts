import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req) => {
  console.log('greeting', req.queryParam('name'))
  return Response.ok({ hello: req.queryParam('name') ?? 'world' })
})
