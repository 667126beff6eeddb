/**
 * The worked examples of README.md, read from the README itself so that the
 * documentation and the tests that run it cannot drift apart.
 *
 * Format (see the README): each "### Example" section has a "Rules:" table
 * and a "Points:" table. Rules: `id | on | group | tenant | match | type |
 * cost` and optional `start`, `end`; `on` is a service name or
 * "service / field"; `match` is a field value in backticks, "≥ level" for a
 * threshold, or "—" for a service mapping. Points: `point | type | scope |
 * at | qty | groupby | metadata | price before | price`, attributes written
 * `key=value, key=value`; a price starting with "error" means the point is
 * refused.
 */
import { readFileSync } from "node:fs";
import type { RatingPoint } from "../../domain.js";
import type { FieldRow, GroupRow, HashmapData, MappingRow, ServiceRow, ThresholdRow } from "./model.js";

export interface ExamplePoint {
  label: string;
  scope: string;
  at: Date;
  point: RatingPoint;
  /** The exact expected price, or "error..." */
  price: string;
}

export interface Example {
  title: string;
  data: HashmapData;
  points: ExamplePoint[];
}

export const README = new URL("../../../../../services/rating/modules/hashmap/README.md", import.meta.url);

const DEFAULT_AT = "2026-01-01T00:00:00Z";

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split("|")
    .map((c) => c.trim());
}

/** The first markdown table after the line `label`, as rows keyed by header. */
function tableAfter(lines: string[], label: string): Array<Record<string, string>> {
  const at = lines.findIndex((l) => l.trim() === label);
  if (at < 0) return [];
  let i = at + 1;
  while (i < lines.length && !(lines[i] as string).trim().startsWith("|")) i++;
  const header = cells(lines[i] as string);
  const rows: Array<Record<string, string>> = [];
  for (i += 2; i < lines.length && (lines[i] as string).trim().startsWith("|"); i++) {
    const c = cells(lines[i] as string);
    rows.push(Object.fromEntries(header.map((h, k) => [h, c[k] ?? ""])));
  }
  return rows;
}

function attrs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const p = part.trim();
    if (p === "" || p === "—") continue;
    const eq = p.indexOf("=");
    out[p.slice(0, eq).trim()] = unquote(p.slice(eq + 1).trim());
  }
  return out;
}

function unquote(s: string): string {
  return s.startsWith("`") && s.endsWith("`") ? s.slice(1, -1) : s;
}

function blank(s: string | undefined): boolean {
  return s === undefined || s === "" || s === "—";
}

export function parseExamples(markdown: string): Example[] {
  const sections = markdown.split(/^### /m).filter((s) => s.startsWith("Example"));
  return sections.map((section) => {
    const lines = section.split("\n");
    const title = (lines[0] as string).trim();
    const data: HashmapData = { services: [], fields: [], groups: [], mappings: [], thresholds: [] };
    let seq = 0;
    const service = (name: string): ServiceRow => {
      const found = data.services.find((x) => x.name === name);
      if (found !== undefined) return found;
      const s = { serviceId: `svc-${name}`, name, seq: ++seq };
      data.services.push(s);
      return s;
    };
    const field = (svc: ServiceRow, name: string): FieldRow => {
      const found = data.fields.find((x) => x.serviceId === svc.serviceId && x.name === name);
      if (found !== undefined) return found;
      const f = { fieldId: `fld-${svc.name}-${name}`, serviceId: svc.serviceId, name, seq: ++seq };
      data.fields.push(f);
      return f;
    };
    const group = (name: string): GroupRow | null => {
      if (blank(name) || name === "_DEFAULT_") return null;
      const found = data.groups.find((x) => x.name === name);
      if (found !== undefined) return found;
      const g = { groupId: `grp-${name}`, name, seq: ++seq };
      data.groups.push(g);
      return g;
    };
    for (const r of tableAfter(lines, "Rules:")) {
      const [svcName, fieldName] = (r.on as string).split(" / ").map((s) => s.trim());
      const svc = service(svcName as string);
      const fld = fieldName === undefined ? undefined : field(svc, fieldName);
      const g = group(r.group ?? "");
      const match = r.match ?? "";
      const type = r.type === "rate" ? "rate" : "flat";
      const tenantId = blank(r.tenant) ? null : (r.tenant as string);
      const parent = { serviceId: fld === undefined ? svc.serviceId : null, fieldId: fld?.fieldId ?? null };
      if (match.startsWith("≥")) {
        const t: ThresholdRow = {
          thresholdId: r.id as string,
          ...parent,
          level: match.slice(1).trim(),
          type,
          cost: r.cost as string,
          groupId: g?.groupId ?? null,
          tenantId,
          seq: ++seq,
        };
        data.thresholds.push(t);
      } else {
        const m: MappingRow = {
          mappingId: r.id as string,
          ...parent,
          value: blank(match) ? null : unquote(match),
          type,
          cost: r.cost as string,
          groupId: g?.groupId ?? null,
          tenantId,
          start: blank(r.start) ? 0 : Date.parse(r.start as string),
          end: blank(r.end) ? null : Date.parse(r.end as string),
          name: null,
          description: "",
          createdAt: 0,
          deletedAt: null,
          seq: ++seq,
        };
        data.mappings.push(m);
      }
    }
    const points = tableAfter(lines, "Points:").map((p) => ({
      label: p.point as string,
      scope: blank(p.scope) ? "" : (p.scope as string),
      at: new Date(blank(p.at) ? DEFAULT_AT : (p.at as string)),
      point: {
        type: p.type as string,
        unit: "",
        qty: p.qty as string,
        price: blank(p["price before"]) ? "0" : (p["price before"] as string),
        groupby: attrs(p.groupby ?? ""),
        metadata: attrs(p.metadata ?? ""),
      },
      price: unquote((p.price as string).replaceAll("**", "")),
    }));
    return { title, data, points };
  });
}

export function readmeExamples(): Example[] {
  return parseExamples(readFileSync(README, "utf8"));
}
