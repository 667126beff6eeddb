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
import type { FieldRow, GroupRow, HashmapData, ServiceRow } from "./model.js";
import { PriceListBuilder } from "./price-list-builder.js";

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
    const b = new PriceListBuilder();
    const data = b.data;
    const service = (name: string): ServiceRow => data.services.find((x) => x.name === name) ?? b.service(`svc-${name}`, name);
    const field = (svc: ServiceRow, name: string): FieldRow =>
      data.fields.find((x) => x.serviceId === svc.serviceId && x.name === name) ?? b.field(svc.serviceId, name, `fld-${svc.name}-${name}`);
    const group = (name: string): GroupRow | null => {
      if (blank(name) || name === "_DEFAULT_") return null;
      return data.groups.find((x) => x.name === name) ?? b.group(`grp-${name}`, name);
    };
    for (const r of tableAfter(lines, "Rules:")) {
      const [svcName, fieldName] = (r.on as string).split(" / ").map((s) => s.trim());
      const svc = service(svcName as string);
      const fld = fieldName === undefined ? undefined : field(svc, fieldName);
      const g = group(r.group ?? "");
      const match = r.match ?? "";
      const rule = {
        id: r.id as string,
        serviceId: fld === undefined ? svc.serviceId : null,
        fieldId: fld?.fieldId ?? null,
        type: r.type === "rate" ? ("rate" as const) : ("flat" as const),
        cost: r.cost as string,
        groupId: g?.groupId ?? null,
        tenantId: blank(r.tenant) ? null : (r.tenant as string),
      };
      if (match.startsWith("≥")) {
        b.threshold({ ...rule, level: match.slice(1).trim() });
      } else {
        b.mapping({
          ...rule,
          value: blank(match) ? null : unquote(match),
          start: blank(r.start) ? 0 : Date.parse(r.start as string),
          end: blank(r.end) ? null : Date.parse(r.end as string),
        });
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
