/**
 * The file collector: usage records from a JSON-lines file, one record per
 * line. It serves to import usage exports and runs the demo.
 *
 *   {"metric": "cpu", "scope_id": "p1", "begin": "2026-01-01T00:00:00Z",
 *    "qty": "1", "groupby": {"id": "vm-1"}, "metadata": {"flavor_name": "m1.small"}}
 *
 * `metric` is the metric's name as metrics.yml gives it; `qty` a number or
 * a decimal string; a record belongs to the period its `begin` falls in.
 * Each record gives one point: groupby and metadata are the metric's
 * configured keys, taken from the record's groupby, then its metadata
 * (a missing key gives ""), and the scope key is the record's scope_id.
 * The file is read once at start; every bad line is reported at once.
 */
import { readFileSync } from "node:fs";
import { ConfigFileError } from "../../../libs/config/config.js";
import type { Decimal } from "../../../libs/money/decimal.js";
import { parseNumber } from "../metrics.js";
import { type BatchQuery, type BatchResult, batchPeriods, type Collector, type CollectQuery, type RawMeasure } from "./collector.js";

const USAGE_FILE = "usage file";

interface UsageRecord {
  begin: number;
  value: Decimal;
  attributes: Record<string, string>;
  scopeId: string;
}

export class FileCollector implements Collector {
  readonly name = "file";
  /** metric -> scope -> records sorted by begin. */
  private readonly index = new Map<string, Map<string, UsageRecord[]>>();

  constructor(
    readonly file: string,
    private readonly scopeKey: string,
  ) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw ConfigFileError.unreadable(file, err, USAGE_FILE);
    }
    const problems: string[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line.trim() === "") continue;
      const where = `line ${i + 1}`;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problems.push(`${where}: not valid JSON`);
        continue;
      }
      const bad = (field: string, msg: string): void => {
        problems.push(`${where}: ${field}: ${msg}`);
      };
      const { metric, scope_id: scopeId, begin, qty, groupby = {}, metadata = {} } = rec;
      if (typeof metric !== "string" || metric === "") {
        bad("metric", "is required (a metric name from metrics.yml)");
        continue;
      }
      if (typeof scopeId !== "string" || scopeId === "") {
        bad("scope_id", "is required");
        continue;
      }
      const t = typeof begin === "string" ? Date.parse(begin) : Number.NaN;
      if (Number.isNaN(t)) {
        bad("begin", "is required (an RFC 3339 timestamp)");
        continue;
      }
      let value: Decimal;
      try {
        if (typeof qty !== "string" && typeof qty !== "number") throw new Error();
        value = parseNumber(qty);
      } catch {
        bad("qty", `${JSON.stringify(qty)} is not a number`);
        continue;
      }
      if (!isStringMap(groupby)) {
        bad("groupby", "must be a map of strings");
        continue;
      }
      if (!isStringMap(metadata)) {
        bad("metadata", "must be a map of strings");
        continue;
      }
      let byScope = this.index.get(metric);
      if (byScope === undefined) {
        byScope = new Map();
        this.index.set(metric, byScope);
      }
      let records = byScope.get(scopeId);
      if (records === undefined) {
        records = [];
        byScope.set(scopeId, records);
      }
      records.push({ begin: t, value, attributes: { ...metadata, ...groupby }, scopeId });
    }
    if (problems.length > 0) throw new ConfigFileError(file, problems, USAGE_FILE);
    for (const byScope of this.index.values()) for (const records of byScope.values()) records.sort((a, b) => a.begin - b.begin);
  }

  async collect(q: CollectQuery): Promise<RawMeasure[]> {
    const records = this.index.get(q.metric.name)?.get(q.scopeId) ?? [];
    const from = q.begin.getTime();
    const to = q.end.getTime();
    const out: RawMeasure[] = [];
    for (let i = lowerBound(records, from); i < records.length; i++) {
      const r = records[i] as UsageRecord;
      if (r.begin >= to) break;
      out.push(this.measure(q.metric, r));
    }
    return out;
  }

  /** One pass over each scope's records of the window, each record to the period its begin falls in. */
  async collectBatch(q: BatchQuery): Promise<BatchResult> {
    const periods = batchPeriods(q);
    const step = q.periodSeconds * 1000;
    const from = q.begin.getTime();
    const to = q.end.getTime();
    const result: BatchResult = { measures: new Map(), errors: new Map() };
    for (const scopeId of q.scopeIds) {
      const byPeriod = new Map<number, RawMeasure[]>(periods.map((p) => [p, []]));
      const records = this.index.get(q.metric.name)?.get(scopeId) ?? [];
      for (let i = lowerBound(records, from); i < records.length; i++) {
        const r = records[i] as UsageRecord;
        if (r.begin >= to) break;
        byPeriod.get(from + Math.floor((r.begin - from) / step) * step)?.push(this.measure(q.metric, r));
      }
      result.measures.set(scopeId, byPeriod);
    }
    return result;
  }

  private measure(metric: CollectQuery["metric"], r: UsageRecord): RawMeasure {
    const pick = (keys: string[]) =>
      Object.fromEntries(keys.map((k) => [k, k === this.scopeKey ? (r.attributes[k] ?? r.scopeId) : (r.attributes[k] ?? "")]));
    return { value: r.value, groupby: pick(metric.groupby), metadata: pick(metric.metadata) };
  }

  describe(q: CollectQuery): string[] {
    return [
      `${this.file}: records of metric ${q.metric.name} for scope ${q.scopeId} with begin in [${q.begin.toISOString()}, ${q.end.toISOString()})`,
    ];
  }

  /** The scope ids present in the file, for a fetcher that lists them. */
  scopes(): string[] {
    const all = new Set<string>();
    for (const byScope of this.index.values()) for (const s of byScope.keys()) all.add(s);
    return [...all].sort();
  }

  async close(): Promise<void> {}
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

function lowerBound(records: UsageRecord[], t: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as UsageRecord).begin < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
