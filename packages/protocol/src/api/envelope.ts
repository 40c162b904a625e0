import { type TSchema, Type } from 'typebox'
import { ERROR_STATUS } from '../errors.ts'

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

/** The body of every failed call, with a code from the registry. */
export const ErrorEnvelope = Type.Object(
  {
    ok: Type.Literal(false),
    error: Type.Object(
      {
        code: Type.Union(
          Object.keys(ERROR_STATUS).map((code) => Type.Literal(code)),
          { description: 'Stable code from the registry; switch on it, never on the message' },
        ),
        message: Type.String({ description: 'What went wrong and what to fix' }),
        details: Type.Optional(Type.Unknown({ description: 'Structured detail, e.g. the field at fault' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'Failure' },
)

/** Query fields every list route accepts. */
export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page' }),
  ),
  continuation_token: Type.Optional(
    Type.String({ maxLength: 512, description: 'Opaque token from the previous page; absent on the first' }),
  ),
}
