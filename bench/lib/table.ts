// Markdown tables and number formatting for the bench's stdout.

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');
}

export function fmtFixed(n: number | null | undefined, digits: number, suffix = ''): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(digits)}${suffix}`;
}

export function fmtSigned(n: number | null | undefined, digits: number, suffix = ''): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${n >= 0 ? '+' : ''}${n.toFixed(digits)}${suffix}`;
}

export function fmtMB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined || !Number.isFinite(bytes) ? '–' : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
