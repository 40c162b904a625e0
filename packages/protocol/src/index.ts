export * from './catalog.ts'
export * from './errors.ts'
export * from './jobs.ts'
export * from './services.ts'
