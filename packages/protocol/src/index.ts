export * from './catalog.ts'
export * from './errors.ts'
