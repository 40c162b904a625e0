export * from './api/index.ts'
export * from './catalog.ts'
export * from './errors.ts'
export * from './jobs.ts'
