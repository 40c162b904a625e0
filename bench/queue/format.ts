// Output helpers of the queue benchmark: an aligned table and number formats.

/** Prints an aligned table: the first column left-aligned, the others (numbers) right-aligned. */
export function printTable(header: readonly string[], rows: readonly string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  console.log(line(header))
  console.log(line(widths.map((width) => '-'.repeat(width))))
  for (const row of rows) console.log(line(row))
}

/** Jobs per second, rounded; `-` when not measured. */
export function fmtRate(value: number | undefined): string {
  return value === undefined ? '-' : Math.round(value).toLocaleString('en-US')
}

export function fmtMs(value: number | undefined): string {
  if (value === undefined) return '-'
  return value < 10 ? value.toFixed(2) : value.toFixed(1)
}

export function fmtRatio(value: number): string {
  return `${value.toFixed(2)}×`
}
