import type { api } from '@edgeforge/protocol'
import type { Static, TSchema } from 'typebox'

/*
 * The inputs and answers of an operation, read from its declaration's schemas at type level only:
 * nothing here exists at run time, so the client ships without typebox or the protocol package.
 */

type Api = typeof api
export type Op<C extends keyof Api, N extends keyof Api[C]> = Api[C][N]

type Success<O> = O extends { responses: infer R } ? R[keyof R] : never
type Envelope<S> = S extends TSchema ? Static<S> : never

/** What `data` holds in the operation's success envelope. */
export type Data<O> = Envelope<Success<O>> extends { data: infer D } ? D : Envelope<Success<O>>
/** One item of a list operation's page. */
export type Item<O> = Data<O> extends readonly (infer I)[] ? I : never
export type QueryOf<O> = O extends { query: infer Q extends TSchema } ? Static<Q> : never
export type BodyOf<O> = O extends { body: infer B extends TSchema } ? Static<B> : unknown
