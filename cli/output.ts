/**
 * The one output layer every command uses: rows of strings rendered as an
 * aligned table (for people), CSV or JSON (for programs). Decimal columns
 * keep every digit in CSV and JSON; a table shows them at a fixed number of
 * decimals, rounded half up by exact decimal arithmetic, never through a
 * JS number.
 */
import { Decimal } from "../libs/money/decimal.js";

export type Format = "table" | "csv" | "json";

export interface Column {
  key: string;
  /** Table header; the key when absent. */
  title?: string;
  /** An exact decimal: right-aligned, shown at the display precision in tables. */
  decimal?: boolean;
  /** Right-aligned without rounding (counts). */
  right?: boolean;
}

export type Row = Record<string, string>;

/** An exact decimal shown with exactly `decimals` digits after the point, rounded half up. */
export function displayDecimal(value: string, decimals: number): string {
  if (!Decimal.isValid(value)) return value;
  return Decimal.parse(value).quantize(decimals, "half_up").toString();
}

export function renderTable(columns: Column[], rows: Row[], decimals: number): string {
  const cells = rows.map((r) => columns.map((c) => (c.decimal ? displayDecimal(r[c.key] ?? "", decimals) : (r[c.key] ?? ""))));
  const header = columns.map((c) => c.title ?? c.key);
  const widths = columns.map((_, i) => Math.max(header[i]?.length ?? 0, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const c = columns[i] as Column;
        const w = widths[i] ?? 0;
        return c.decimal || c.right ? v.padStart(w) : v.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return `${[line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n")}\n`;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

/** One CSV record (RFC 4180), with its line end. */
export function csvLine(values: string[]): string {
  return `${values.map(csvCell).join(",")}\n`;
}

export function renderCsv(columns: Column[], rows: Row[]): string {
  return [columns.map((c) => c.key), ...rows.map((r) => columns.map((c) => r[c.key] ?? ""))].map(csvLine).join("");
}

export function renderRows(format: Format, columns: Column[], rows: Row[], decimals = 2): string {
  switch (format) {
    case "csv":
      return renderCsv(columns, rows);
    case "json":
      return `${JSON.stringify(
        rows.map((r) => Object.fromEntries(columns.map((c) => [c.key, r[c.key] ?? ""]))),
        null,
        2,
      )}\n`;
    default:
      return rows.length === 0 ? "(none)\n" : renderTable(columns, rows, decimals);
  }
}

/** A list of messages: in json each message's own JSON (every field, exact), otherwise their rows. */
export function renderMessages<T>(
  format: Format,
  messages: T[],
  toJSON: (m: T) => unknown,
  columns: Column[],
  rows: (ms: T[]) => Row[],
): string {
  if (format === "json") return `${JSON.stringify(messages.map(toJSON), null, 2)}\n`;
  return renderRows(format, columns, rows(messages));
}

/** One record as aligned `key  value` lines (show commands), or JSON. */
export function renderRecord(format: "table" | "json", record: Record<string, unknown>): string {
  if (format === "json") return `${JSON.stringify(record, null, 2)}\n`;
  const entries = Object.entries(record).filter(([, v]) => v !== undefined && v !== "");
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${typeof v === "string" ? v : JSON.stringify(v)}\n`).join("");
}

/** Writes text, waiting when the stream is full (a large export piped into a slow reader). */
export async function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
}
