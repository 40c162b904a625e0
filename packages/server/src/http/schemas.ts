import { type TSchema, Type } from 'typebox'

/** Response schema of a success envelope around `data`. */
export const Ok = <T extends TSchema>(data: T, description = 'Success') =>
  Type.Object({ ok: Type.Literal(true), data }, { additionalProperties: false, description })

/** Response schema of one page of a list route. */
export const OkList = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      ok: Type.Literal(true),
      data: Type.Array(item),
      continuation_token: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass it back to get the next page; null on the last page',
      }),
    },
    { additionalProperties: false, description: 'One page, in creation order' },
  )

/** Response schema of a delete: `{ ok: true, data: null }`. */
export const OkNull = Type.Object(
  { ok: Type.Literal(true), data: Type.Null() },
  { additionalProperties: false, description: 'Deleted' },
)
