import { SourceMap } from 'node:module'
import { escapeRegExp } from './deps.ts'

const CACHE_LIMIT = 32
// Insertion-ordered: a hit moves the entry to the end, the oldest entry goes first.
const parsedMaps = new Map<string, SourceMap>()

/**
 * Rewrites the stack frames of a loaded bundle (`filename:line:col`, as the loader named its
 * vm.Script) to the TypeScript positions in the source map: `at fn (edgeforge:endpoint/hello@v3.js:24:11)`
 * becomes `at fn (hello.ts:5:11)`. `lineOffset` is the number of lines the loader's wrapper puts before
 * the bundle. Frames in other files, and frames the map does not cover, stay as they are.
 *
 * @example
 * log.error(mapStack(error.stack ?? '', loaded.filename, artifact.sourceMap, loaded.lineOffset))
 */
export function mapStack(stack: string, filename: string, sourceMap: string, lineOffset: number): string {
  if (!stack.includes(filename)) return stack
  const map = parsedMap(sourceMap)
  if (!map) return stack
  const frame = new RegExp(`${escapeRegExp(filename)}:(\\d+):(\\d+)`, 'g')
  return stack.replace(frame, (whole, line: string, column: string) => {
    const generatedLine = Number(line) - 1 - lineOffset
    const generatedColumn = Number(column) - 1
    if (generatedLine < 0) return whole
    const entry = map.findEntry(generatedLine, generatedColumn)
    // findEntry falls back to the nearest earlier mapping, which may sit on another line (esbuild's
    // unmapped runtime helpers): such a position would be a guess, so keep the bundle's own.
    if (!('originalSource' in entry) || entry.generatedLine !== generatedLine) return whole
    return `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
  })
}

function parsedMap(sourceMap: string): SourceMap | undefined {
  const cached = parsedMaps.get(sourceMap)
  if (cached) {
    parsedMaps.delete(sourceMap)
    parsedMaps.set(sourceMap, cached)
    return cached
  }
  let map: SourceMap
  try {
    map = new SourceMap(JSON.parse(sourceMap))
  } catch {
    return undefined
  }
  parsedMaps.set(sourceMap, map)
  if (parsedMaps.size > CACHE_LIMIT) parsedMaps.delete(parsedMaps.keys().next().value as string)
  return map
}
