/**
 * A whole hashmap price list as one YAML document, what `hashmap export`
 * writes and `hashmap import` reads:
 *
 *   groups: [instance_uptime]
 *   services:
 *     - name: volume.size
 *       mappings:
 *         - type: flat
 *           cost: "0.0002"
 *           start: 2026-01-01T00:00:00Z
 *       thresholds:
 *         - level: "100"
 *           type: rate
 *           cost: "0.95"
 *       fields:
 *         - name: volume_type
 *           mappings:
 *             - value: ssd
 *               type: rate
 *               cost: "1.5"
 *               start: 2026-01-01T00:00:00Z
 *     - name: storage.gb
 *       mappings:
 *         - tiers: graduated 0:0.10, 1000:0.08
 *     - name: instance
 *       mappings:
 *         - cost: "0.10"
 *           time_of_use: UTC; 22:00-06:00=0.05; sat,sun=0.05
 *
 * (tiers and time_of_use in the one-line forms of shapes.ts.) Things are named, never referred to by id, so a list moves between
 * meshes. Every scalar is read as a string (YAML's failsafe schema), so a
 * cost such as 0.10 keeps its exact digits whether quoted or not. The
 * export is canonical (sorted, defaults left out), so exporting what was
 * imported gives the same text.
 */
import { parse, stringify } from "yaml";
import { Decimal } from "../../libs/money/decimal.js";
import { iso } from "../dates.js";
import { CliError } from "../errors.js";
import { formatTiers, formatTimeOfUse, parseTiers, parseTimeOfUse } from "./shapes.js";

export type RuleType = "flat" | "rate";

export interface MappingEntry {
  value?: string;
  type: RuleType;
  cost: string;
  group?: string;
  tenant?: string;
  /** RFC 3339. Absent in a file: the mapping in force now (a new one starts at import). */
  start?: string;
  end?: string;
  name?: string;
  description?: string;
  /** One-line forms (shapes.ts); a tiered mapping's cost is "0". */
  tiers?: string;
  time_of_use?: string;
}

export interface ThresholdEntry {
  level: string;
  type: RuleType;
  cost: string;
  group?: string;
  tenant?: string;
}

export interface FieldEntry {
  name: string;
  mappings: MappingEntry[];
  thresholds: ThresholdEntry[];
}

export interface ServiceEntry {
  name: string;
  mappings: MappingEntry[];
  thresholds: ThresholdEntry[];
  fields: FieldEntry[];
}

export interface PriceList {
  groups: string[];
  services: ServiceEntry[];
}

export const HEADER = "# hashmap price list: `ratemesh hashmap import FILE` makes rating's price list equal to it\n";

const MAPPING_KEYS = ["value", "type", "cost", "group", "tenant", "start", "end", "name", "description", "tiers", "time_of_use"] as const;
const THRESHOLD_KEYS = ["level", "type", "cost", "group", "tenant"] as const;

// Canonical order.

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function mappingOrder(a: MappingEntry, b: MappingEntry): number {
  return (
    byText(a.value ?? "", b.value ?? "") ||
    byText(a.group ?? "", b.group ?? "") ||
    byText(a.tenant ?? "", b.tenant ?? "") ||
    byText(a.start ?? "", b.start ?? "")
  );
}

function thresholdOrder(a: ThresholdEntry, b: ThresholdEntry): number {
  return (
    Decimal.parse(a.level).cmp(Decimal.parse(b.level)) || byText(a.tenant ?? "", b.tenant ?? "") || byText(a.group ?? "", b.group ?? "")
  );
}

function entry<K extends string>(keys: readonly K[], e: Partial<Record<K, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = e[k];
    if (v !== undefined && v !== "") out[k] = v;
  }
  return out;
}

function rules(target: Record<string, unknown>, x: { mappings: MappingEntry[]; thresholds: ThresholdEntry[] }): void {
  if (x.mappings.length > 0) target.mappings = [...x.mappings].sort(mappingOrder).map((m) => entry(MAPPING_KEYS, m));
  if (x.thresholds.length > 0) target.thresholds = [...x.thresholds].sort(thresholdOrder).map((t) => entry(THRESHOLD_KEYS, t));
}

export function renderPriceList(list: PriceList): string {
  const services = [...list.services]
    .sort((a, b) => byText(a.name, b.name))
    .map((s) => {
      const out: Record<string, unknown> = { name: s.name };
      rules(out, s);
      if (s.fields.length > 0) {
        out.fields = [...s.fields]
          .sort((a, b) => byText(a.name, b.name))
          .map((f) => {
            const fo: Record<string, unknown> = { name: f.name };
            rules(fo, f);
            return fo;
          });
      }
      return out;
    });
  return HEADER + stringify({ groups: [...list.groups].sort(byText), services }, { lineWidth: 0 });
}

// Reading, with an error that names the file and the path of the bad value.

class Reader {
  constructor(private readonly file: string) {}

  fail(path: string, problem: string): never {
    throw new CliError("invalid_argument", `${this.file}: ${path}: ${problem}`);
  }

  map(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, "expected a mapping of keys to values");
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail(`${path}.${k}`, `unknown key (expected one of ${allowed.join(", ")})`);
    }
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === "") return [];
    if (!Array.isArray(v)) this.fail(path, "expected a list");
    return v;
  }

  text(v: unknown, path: string, required: boolean): string | undefined {
    if (v === undefined || v === "") {
      if (required) this.fail(path, "is required");
      return undefined;
    }
    if (typeof v !== "string") this.fail(path, "expected a single value");
    return v;
  }

  decimal(v: unknown, path: string): string {
    const t = this.text(v, path, true) as string;
    if (!Decimal.isValid(t)) this.fail(path, `${JSON.stringify(t)} is not an exact decimal (e.g. "0.01", "12.5")`);
    return t;
  }

  type(v: unknown, path: string): RuleType {
    const t = this.text(v, path, false) ?? "flat";
    if (t !== "flat" && t !== "rate") this.fail(path, `${JSON.stringify(t)} is not a rule type (flat or rate)`);
    return t;
  }

  time(v: unknown, path: string): string | undefined {
    const t = this.text(v, path, false);
    if (t === undefined) return undefined;
    const d = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(t)
      ? new Date(t.length === 10 ? `${t}T00:00:00Z` : t)
      : undefined;
    if (d === undefined || Number.isNaN(d.getTime()))
      this.fail(path, `${JSON.stringify(t)} is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)`);
    return iso(d);
  }

  /** A one-line tiers or time-of-use form (shapes.ts), in its canonical spelling. */
  shape<T>(v: unknown, path: string, parse: (t: string) => T | string, format: (x: T) => string): string | undefined {
    const t = this.text(v, path, false);
    if (t === undefined) return undefined;
    const x = parse(t);
    if (typeof x === "string") this.fail(path, x);
    return format(x);
  }

  group(v: unknown, path: string, groups: Set<string>): string | undefined {
    const g = this.text(v, path, false);
    if (g !== undefined && !groups.has(g)) this.fail(path, `group ${JSON.stringify(g)} is not in the groups list`);
    return g;
  }
}

/** Drops the keys whose value is undefined (exact optional properties). */
function optional<T extends object>(o: { [K in keyof T]-?: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function readRules(r: Reader, raw: Record<string, unknown>, path: string, groups: Set<string>, field: boolean) {
  const mappings = r.list(raw.mappings, `${path}.mappings`).map((m, i) => {
    const p = `${path}.mappings[${i}]`;
    const x = r.map(m, p, MAPPING_KEYS);
    const value = r.text(x.value, `${p}.value`, field);
    if (!field && value !== undefined) r.fail(`${p}.value`, "a service mapping has no value (it always applies); put it under a field");
    const tiers = r.shape(x.tiers, `${p}.tiers`, parseTiers, formatTiers);
    return optional<MappingEntry>({
      value,
      type: r.type(x.type, `${p}.type`),
      cost: tiers !== undefined && x.cost === undefined ? "0" : r.decimal(x.cost, `${p}.cost`),
      tiers,
      time_of_use: r.shape(x.time_of_use, `${p}.time_of_use`, parseTimeOfUse, formatTimeOfUse),
      group: r.group(x.group, `${p}.group`, groups),
      tenant: r.text(x.tenant, `${p}.tenant`, false),
      start: r.time(x.start, `${p}.start`),
      end: r.time(x.end, `${p}.end`),
      name: r.text(x.name, `${p}.name`, false),
      description: r.text(x.description, `${p}.description`, false),
    });
  });
  const thresholds = r.list(raw.thresholds, `${path}.thresholds`).map((t, i) => {
    const p = `${path}.thresholds[${i}]`;
    const x = r.map(t, p, THRESHOLD_KEYS);
    return optional<ThresholdEntry>({
      level: r.decimal(x.level, `${p}.level`),
      type: r.type(x.type, `${p}.type`),
      cost: r.decimal(x.cost, `${p}.cost`),
      group: r.group(x.group, `${p}.group`, groups),
      tenant: r.text(x.tenant, `${p}.tenant`, false),
    });
  });
  return { mappings, thresholds };
}

function unique(r: Reader, names: string[], path: string, what: string): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) r.fail(`${path}[${i}]`, `${what} ${JSON.stringify(n)} appears twice`);
    seen.add(n);
  });
}

export function parsePriceList(text: string, file: string): PriceList {
  const r = new Reader(file);
  let doc: unknown;
  try {
    doc = parse(text, { schema: "failsafe" });
  } catch (err) {
    throw new CliError("invalid_argument", `${file}: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`);
  }
  const top = r.map(doc ?? {}, "(top)", ["groups", "services"]);
  const groupNames = r.list(top.groups, "groups").map((g, i) => r.text(g, `groups[${i}]`, true) as string);
  unique(r, groupNames, "groups", "group");
  const groups = new Set(groupNames);
  const services = r.list(top.services, "services").map((s, i) => {
    const p = `services[${i}]`;
    const raw = r.map(s, p, ["name", "mappings", "thresholds", "fields"]);
    const fields = r.list(raw.fields, `${p}.fields`).map((f, j) => {
      const fp = `${p}.fields[${j}]`;
      const fr = r.map(f, fp, ["name", "mappings", "thresholds"]);
      return { name: r.text(fr.name, `${fp}.name`, true) as string, ...readRules(r, fr, fp, groups, true) };
    });
    unique(
      r,
      fields.map((f) => f.name),
      `${p}.fields`,
      "field",
    );
    return { name: r.text(raw.name, `${p}.name`, true) as string, ...readRules(r, raw, p, groups, false), fields };
  });
  unique(
    r,
    services.map((s) => s.name),
    "services",
    "service",
  );
  return { groups: groupNames, services };
}
