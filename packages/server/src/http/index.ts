export { type App, type ControlAppOptions, createControlApp, ok, okPage } from './app.ts'
export { errorBody, mapError } from './errors.ts'
export { decodeToken, encodeToken, type Page, PageQuery, toPage } from './paging.ts'
export { type SystemStats, systemRoutes } from './system-routes.ts'
