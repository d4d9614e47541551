/**
 * Contract between bench/run.ts and each file in bench/suites/: a suite runs
 * its measurements (peers side by side, in the same run) and returns markdown
 * for docs/benchmarks.md. Suites that need a service return a section saying
 * it was skipped and why.
 */
export interface BenchSection {
  /** Section heading, e.g. "Core runtime". */
  title: string;
  /** Tables and notes, already formatted as markdown. */
  markdown: string;
}

export type BenchSuite = () => Promise<BenchSection>;

/** Formats rows as a markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Percentile of an ascending-sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
