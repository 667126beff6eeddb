/**
 * What differs between the price list in force at an instant and a draft:
 * row by row (content.ts keys), added, removed or changed, with the old
 * and the new text. Rows scheduled to start after the instant are listed
 * as removed, since publishing at it replaces everything from it on.
 * Services, fields and groups are only ever added: publishing never
 * deletes one (their rules are what ends).
 */
import {
  type FlatMapping,
  type FlatThreshold,
  flatMappings,
  flatThresholds,
  type ListRule,
  mappingKey,
  mappingText,
  type PriceList,
  ruleKey,
  ruleText,
  thresholdKey,
  thresholdText,
} from "./content.js";
import type { LivePriceList } from "./live.js";

export type ChangeType = "added" | "removed" | "changed";

export interface Change {
  kind: "group" | "service" | "field" | "mapping" | "threshold" | "rule";
  key: string;
  change: ChangeType;
  old: string;
  new: string;
}

/** Text of a live row: its window's end shows, since a row that ends is not the same as one that does not. */
function withEnd(text: string, end: number | null): string {
  return end === null ? text : `${text} until ${new Date(end).toISOString()}`;
}

/** Rows scheduled to start after the instant: removed, since publishing at it replaces everything from it on. */
function removedScheduled<T extends { row: { start: number; end: number | null } }>(
  kind: Change["kind"],
  scheduled: T[],
  key: (x: T) => string,
  text: (x: T) => string,
): Change[] {
  return scheduled.map((x) => ({
    kind,
    key: key(x),
    change: "removed",
    old: `${withEnd(text(x), x.row.end)} from ${new Date(x.row.start).toISOString()}`,
    new: "",
  }));
}

function compare<T>(
  out: Change[],
  kind: Change["kind"],
  live: Array<{ item: T; text: string }>,
  draft: T[],
  key: (x: T) => string,
  text: (x: T) => string,
): void {
  const old = new Map(live.map((l) => [key(l.item), l.text]));
  const seen = new Set<string>();
  for (const d of draft) {
    const k = key(d);
    seen.add(k);
    const o = old.get(k);
    const n = text(d);
    if (o === undefined) out.push({ kind, key: k, change: "added", old: "", new: n });
    else if (o !== n) out.push({ kind, key: k, change: "changed", old: o, new: n });
  }
  for (const l of live) {
    const k = key(l.item);
    if (!seen.has(k)) out.push({ kind, key: k, change: "removed", old: l.text, new: "" });
  }
}

export function diffPriceLists(live: LivePriceList, draft: PriceList): Change[] {
  const out: Change[] = [];
  for (const g of draft.groups) if (!live.groupIds.has(g)) out.push({ kind: "group", key: g, change: "added", old: "", new: g });
  for (const s of draft.services) {
    if (!live.serviceIds.has(s.name)) out.push({ kind: "service", key: s.name, change: "added", old: "", new: s.name });
    for (const f of s.fields) {
      const k = `${s.name}/${f.name}`;
      if (!live.fieldIds.has(k)) out.push({ kind: "field", key: k, change: "added", old: "", new: f.name });
    }
  }
  compare<FlatMapping>(
    out,
    "mapping",
    live.mappings.map((m) => ({ item: m, text: withEnd(mappingText(m), m.row.end) })),
    flatMappings(draft),
    mappingKey,
    mappingText,
  );
  out.push(...removedScheduled("mapping", live.scheduledMappings, mappingKey, mappingText));
  compare<FlatThreshold>(
    out,
    "threshold",
    live.thresholds.map((t) => ({ item: t, text: thresholdText(t) })),
    flatThresholds(draft),
    thresholdKey,
    thresholdText,
  );
  compare<ListRule>(
    out,
    "rule",
    live.rules.map((r) => ({ item: r, text: withEnd(ruleText(r), r.row.end) })),
    draft.rules,
    ruleKey,
    ruleText,
  );
  out.push(...removedScheduled("rule", live.scheduledRules, ruleKey, ruleText));
  return out;
}

/** "1 changed, 2 added" (the counts of the changes to prices: mappings, thresholds, rules). */
export function summarize(changes: Change[]): string {
  const counts: Record<ChangeType, number> = { added: 0, removed: 0, changed: 0 };
  for (const c of changes) if (c.kind === "mapping" || c.kind === "threshold" || c.kind === "rule") counts[c.change]++;
  const parts = (["changed", "added", "removed"] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return parts.length === 0 ? "no change" : parts.join(", ");
}
