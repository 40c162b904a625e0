import { HandlerError, handler, isServiceError, Response } from '@edgeforge/sdk'

/**
 * The Pet Store: one handler for the five routes of /pets, on ctx.records. Which backend holds
 * the pets — a SQLite or PostgreSQL table, an S3 bucket, a folder on an SFTP server — is decided
 * by the endpoint's binding of "store", never by this code.
 *
 *   GET    /pets[?status=available]   list
 *   POST   /pets                      create  {"id","name","species","status"}
 *   GET    /pets/{id}                 one
 *   PUT    /pets/{id}                 replace
 *   DELETE /pets/{id}                 remove
 */

interface PetInput {
  id?: string
  name?: string
  species?: string
  status?: string
}

function pet(body: PetInput): { name: string; species: string; status: string } {
  if (typeof body.name !== 'string' || body.name === '') throw HandlerError.validation('name is required')
  return { name: body.name, species: body.species ?? 'unknown', status: body.status ?? 'available' }
}

export default handler(async (req, ctx) => {
  const pets = ctx.records('store', 'pets')
  const id = req.pathParam('id')
  if (req.method === 'GET' && id === undefined)
    return Response.ok({ pets: await pets.list(req.queryParam('status')) })
  if (req.method === 'POST') {
    const body = req.json<PetInput>()
    if (typeof body.id !== 'string') throw HandlerError.validation('id is required')
    try {
      return Response.created(await pets.create(body.id, pet(body)))
    } catch (err) {
      if (isServiceError(err) && err.code === 'conflict') throw HandlerError.conflict(`pet ${body.id} exists`)
      throw err
    }
  }
  if (id === undefined) throw HandlerError.methodNotAllowed()
  if (req.method === 'GET') {
    const found = await pets.get(id)
    return found ? Response.ok(found) : Response.notFound(`no pet ${id}`)
  }
  if (req.method === 'PUT') {
    const updated = await pets.update(id, pet(req.json<PetInput>()))
    return updated ? Response.ok(await pets.get(id)) : Response.notFound(`no pet ${id}`)
  }
  if (req.method === 'DELETE')
    return (await pets.delete(id)) ? Response.noContent() : Response.notFound(`no pet ${id}`)
  throw HandlerError.methodNotAllowed()
})
