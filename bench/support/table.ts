/** Prints an aligned table: columns named in `textColumns` left-aligned, the rest (numbers) right. */
export function printTable(header: string[], rows: string[][], textColumns: ReadonlySet<string>): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (textColumns.has(header[i]) ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  console.log(line(header))
  for (const row of rows) console.log(line(row))
}

/** A share of one CPU core as a percentage. */
export function fmtShare(value: number): string {
  return `${Math.round(value * 100)}%`
}

export function fmtMs(value: number): string {
  return value.toFixed(2)
}

export function fmtRate(value: number): string {
  return Math.round(value).toString()
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
