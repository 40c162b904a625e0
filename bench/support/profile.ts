// Reads a V8 .cpuprofile (written by `node --cpu-prof`) and says where the time went: self time by
// function and by file or package, and inclusive time of the functions a request passes through.
import { readFileSync } from 'node:fs'
import { printTable } from './table.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileEntry {
  name: string
  ms: number
  /** Share of the busy (non-idle) time. */
  share: number
}

export interface ProfileSummary {
  busyMs: number
  idleMs: number
  selfByFunction: ProfileEntry[]
  selfByOrigin: ProfileEntry[]
  inclusiveByFunction: ProfileEntry[]
}

const IDLE = new Set(['(idle)', '(program)'])

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const self = new Map<string, number>()
  const origin = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let busyUs = 0
  let idleUs = 0
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0
    const node = byId.get(profile.samples[i])
    if (!node) continue
    if (IDLE.has(node.callFrame.functionName)) {
      idleUs += delta
      continue
    }
    busyUs += delta
    add(self, functionKey(node), delta)
    add(origin, originOf(node.callFrame.url, node.callFrame.functionName), delta)
    // Each function counts once per sample, however deep it recurses.
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)
      if (!frame || frame.callFrame.functionName === '(root)') continue
      const key = functionKey(frame)
      if (!seen.has(key)) {
        seen.add(key)
        add(inclusive, key, delta)
      }
    }
  }
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }))
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    selfByFunction: rank(self),
    selfByOrigin: rank(origin),
    inclusiveByFunction: rank(inclusive),
  }
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value)
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const name = functionName || '(anonymous)'
  if (!url) return name
  return `${name} ${shortUrl(url)}:${lineNumber + 1}`
}

/** `node:internal/http…`, a package name, or a file of this repository. */
function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:')
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  return shortUrl(url)
}

function shortUrl(url: string): string {
  const at = url.indexOf('/packages/')
  if (at !== -1) return url.slice(at + 1)
  return url.replace(/^file:\/\//, '')
}

/** Prints where the profiled process spent its busy time. */
export function printProfile(path: string): void {
  const summary = summarizeProfile(path)
  const seconds = (ms: number) => (ms / 1000).toFixed(1)
  console.log(
    `\nedgeforge CPU profile ${path}: ${seconds(summary.busyMs)} s busy, ${seconds(summary.idleMs)} s idle (the profile covers start-up, warm-up and the bare runs too)`,
  )
  const rows = (entries: ProfileEntry[]) =>
    entries.map((entry) => [`${(entry.share * 100).toFixed(1)}%`, entry.ms.toFixed(0), entry.name])
  const text = new Set(['origin', 'function'])
  console.log('\nself time by origin (share of busy time)')
  printTable(['share', 'ms', 'origin'], rows(summary.selfByOrigin), text)
  console.log('\nself time by function')
  printTable(['share', 'ms', 'function'], rows(summary.selfByFunction), text)
  console.log('\ninclusive time by function')
  printTable(['share', 'ms', 'function'], rows(summary.inclusiveByFunction), text)
  console.log('\n(open the .cpuprofile in Chrome DevTools, Performance panel, for the call tree)')
}
