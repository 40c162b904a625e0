interface DiagnosticLike {
  severity?: string
  message?: string
  file?: string
  line?: number
  column?: number
  code?: string
  lineText?: string
}

/** Prints compile diagnostics the way a compiler would: position, message, the line and a caret. */
export function printDiagnostics(details: unknown): boolean {
  const diagnostics = (details as { diagnostics?: DiagnosticLike[] } | undefined)?.diagnostics
  if (!Array.isArray(diagnostics) || diagnostics.length === 0) return false
  for (const d of diagnostics) {
    const where = d.line ? `${d.file ?? ''}:${d.line}:${d.column ?? 1}` : (d.file ?? '')
    console.error(`${where} ${d.severity ?? 'error'}${d.code ? ` ${d.code}` : ''}: ${d.message}`)
    if (d.lineText !== undefined && d.line) {
      const gutter = String(d.line)
      console.error(`  ${gutter} | ${d.lineText}`)
      console.error(`  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, (d.column ?? 1) - 1))}^`)
    }
  }
  return true
}

/**
 * `text` in at most `max` characters on one line: whole words up to the cut, then an ellipsis, so
 * a reader knows there is more (`--json` shows all of it).
 */
export function clip(text: string, max: number): string {
  const [first, ...more] = text.split('\n')
  if (first.length <= max && more.length === 0) return first
  if (first.length < max) return `${first}…`
  const room = first.slice(0, max - 1)
  // The cut is clean when a space follows it; otherwise drop the word it falls in.
  const space = first[max - 1] === ' ' ? room.length : room.lastIndexOf(' ')
  // One long word (a path, a URL) is cut inside it rather than shown as a lone ellipsis.
  const kept = space > max / 3 ? room.slice(0, space) : room
  return `${kept.trimEnd()}…`
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

/** ` draining v3 (2 in flight), v2 (1 in flight)`-style text for the versions still finishing requests. */
export function drainingText(draining: Array<{ version: number; in_flight: number }>): string {
  if (draining.length === 0) return ''
  return `; draining ${draining.map((d) => `v${d.version} (${d.in_flight} in flight)`).join(', ')}`
}
