/**
 * Pricing frames with a published version or a draft instead of the live
 * price list, for what-if simulations; nothing is written anywhere.
 *
 *   const pricers = new PriceListPricers(db, state, { frameTimeout: 2 });
 *   const pricer = await pricers.forVersion(3);   // or: await pricers.forDraft("spring")
 *   pricer.rate(frames);                           // RatingFrame[] (domain.ts), priced in place
 *   pricer.unpriced(frame);                        // the points no rule priced, as Rate reports them
 *   pricer.explain(point, scopeId, at, "990");     // as Explain, with the month-to-date of the point's type
 *   pricer.priceFrame(frame);                      // rate + unpriced: how many points no rule priced
 *   await pricers.resolve({ kind: "version", version: 3n });   // or { kind: "draft", name: "spring" }
 *
 * `resolve` and `description`/`priceFrame` are the shape the what-if
 * simulation asks of a price-list source (a selector in, a pricer out), so
 * this class plugs in there as it is.
 *
 * A pricer is the rating Pipeline itself (pipeline.ts) over the hashmap and
 * rules modules' own code, on an in-memory snapshot built from the price
 * list's content: every row of the content is in force at every instant
 * (a version or a draft is the price list from its effective date on), so
 * a frame is priced exactly as Rate prices it at an instant where that
 * version is in force. Module states (enabled, priority) are the live
 * ones. NOT_FOUND for an unknown version or draft.
 *
 * Tiered and time-of-use mappings price as Rate prices them: a frame's
 * `monthToDate` (the quantity of each type earlier in its scope's billing
 * month, as Rate's month_to_date carries it, RatingFrame in domain.ts) is
 * what its tiered mappings start from (none: 0), and a time-of-use cost is
 * the one of the window holding the frame's `at`. The caller gives the
 * month-to-date; the pricer never reads it (it prices stored history as it
 * is asked to).
 *
 * Versions never change, so their pricers are kept (by number, rebuilt only
 * when the module states change); a draft's pricer is kept until the draft
 * changes. Pricers of different versions and drafts are independent.
 */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { ModuleExplanation, ModuleState, RatingFrame, RatingPoint, Unpriced } from "../domain.js";
import { HashmapIndex } from "../modules/hashmap/hashmap-index.js";
import type { HashmapData, MappingRow, ThresholdRow } from "../modules/hashmap/model.js";
import { HashmapModule } from "../modules/hashmap/module.js";
import { noopModule } from "../modules/noop.js";
import { RulesModule } from "../modules/rules/module.js";
import type { RuleRow } from "../modules/rules/repository.js";
import { RulesIndex } from "../modules/rules/rules-index.js";
import { Pipeline } from "../pipeline.js";
import type { Snapshot, SnapshotSource } from "../state.js";
import type { SqlDatabase } from "../store/sql.js";
import type { PriceList } from "./content.js";
import * as store from "./store.js";

/** Which price list to price with: a draft by name, a published version by number. */
export type PriceListSelector = { kind: "in_force" } | { kind: "draft"; name: string } | { kind: "version"; version: bigint | number };

/** The earliest instant a Date holds: the content is in force at every instant. */
const ALWAYS = -8.64e15;

export interface FramePricer {
  /** The version priced with, or undefined for a draft. */
  readonly version: number | undefined;
  readonly draft: string | undefined;
  /** "version 3", "draft spring". */
  readonly description: string;
  rate(frames: RatingFrame[]): void;
  /** Prices the frame in place and returns how many of its points no rule priced. */
  priceFrame(frame: RatingFrame): number;
  unpriced(frame: RatingFrame): Unpriced | undefined;
  /** As Explain: monthToDate is the point's type's quantity earlier in the billing month (tiers), "0" if absent. */
  explain(point: RatingPoint, scopeId: string, at: Date, monthToDate?: string): ModuleExplanation[];
}

/** The live rows of a price list's content, as the hashmap and rules modules load them. */
export function rowsOf(content: PriceList): { hashmap: HashmapData; rules: RuleRow[] } {
  let seq = 0;
  const data: HashmapData = { services: [], fields: [], groups: [], mappings: [], thresholds: [] };
  const groupId = (g: string) => (g === "" ? null : `group:${g}`);
  for (const g of content.groups) data.groups.push({ groupId: `group:${g}`, name: g, seq: ++seq });
  const mapping = (m: PriceList["services"][number]["mappings"][number], serviceId: string | null, fieldId: string | null): MappingRow => ({
    mappingId: `mapping:${++seq}`,
    serviceId,
    fieldId,
    value: fieldId === null ? null : m.value,
    type: m.type,
    cost: m.cost,
    groupId: groupId(m.group),
    tenantId: m.tenant === "" ? null : m.tenant,
    start: ALWAYS,
    end: null,
    name: m.name === "" ? null : m.name,
    description: m.description,
    createdAt: 0,
    deletedAt: null,
    seq,
    tiers: m.tiers ?? null,
    timeOfUse: m.timeOfUse ?? null,
  });
  const threshold = (
    t: PriceList["services"][number]["thresholds"][number],
    serviceId: string | null,
    fieldId: string | null,
  ): ThresholdRow => ({
    thresholdId: `threshold:${++seq}`,
    serviceId,
    fieldId,
    level: t.level,
    type: t.type,
    cost: t.cost,
    groupId: groupId(t.group),
    tenantId: t.tenant === "" ? null : t.tenant,
    seq,
  });
  for (const s of content.services) {
    const serviceId = `service:${s.name}`;
    data.services.push({ serviceId, name: s.name, seq: ++seq });
    for (const m of s.mappings) data.mappings.push(mapping(m, serviceId, null));
    for (const t of s.thresholds) data.thresholds.push(threshold(t, serviceId, null));
    for (const f of s.fields) {
      const fieldId = `field:${s.name}/${f.name}`;
      data.fields.push({ fieldId, serviceId, name: f.name, seq: ++seq });
      for (const m of f.mappings) data.mappings.push(mapping(m, null, fieldId));
      for (const t of f.thresholds) data.thresholds.push(threshold(t, null, fieldId));
    }
  }
  const rules: RuleRow[] = content.rules.map((r) => ({
    ruleId: `rule:${r.name}`,
    name: r.name,
    condition: r.condition,
    expression: r.expression,
    order: r.order,
    tenantId: r.tenant === "" ? null : r.tenant,
    start: ALWAYS,
    end: null,
    description: r.description,
    createdAt: 0,
    deletedAt: null,
    seq: ++seq,
  }));
  return { hashmap: data, rules };
}

/** A pipeline pricing with one fixed content (its snapshot never moves). */
function pipelineOf(content: PriceList, modules: ReadonlyMap<string, ModuleState>, db: SqlDatabase, frameTimeout: number): Pipeline {
  const rows = rowsOf(content);
  const snapshot: Snapshot = {
    version: 0,
    modules,
    hashmap: new HashmapIndex(rows.hashmap),
    rules: new RulesIndex(rows.rules),
    versions: [],
  };
  const source: SnapshotSource = { current: snapshot, caughtUp: async () => {} };
  return new Pipeline(
    [
      // The same modules and defaults as main.ts.
      { module: noopModule, defaults: { enabled: true, priority: 1 } },
      { module: new HashmapModule(() => snapshot.hashmap), defaults: { enabled: false, priority: 1 } },
      { module: new RulesModule(() => snapshot.rules, { frameTimeout }), defaults: { enabled: false, priority: 1 } },
    ],
    source,
    db,
  );
}

function pricerOf(pipeline: Pipeline, version: number | undefined, draft: string | undefined): FramePricer {
  return {
    version,
    draft,
    description: version === undefined ? `draft ${draft}` : `version ${version}`,
    rate: (frames) => pipeline.rate(frames),
    priceFrame: (frame) => {
      pipeline.rate([frame]);
      return pipeline.unpriced(frame)?.points ?? 0;
    },
    unpriced: (frame) => pipeline.unpriced(frame),
    explain: (point, scopeId, at, monthToDate) => pipeline.explain(point, scopeId, at, monthToDate),
  };
}

export class PriceListPricers {
  private readonly versions = new Map<number, { modules: unknown; pricer: FramePricer }>();
  private readonly drafts = new Map<string, { modules: unknown; text: string; pricer: FramePricer }>();

  constructor(
    private readonly db: SqlDatabase,
    /** The live state: its module states apply. */
    private readonly live: SnapshotSource,
    private readonly options: { frameTimeout: number },
  ) {}

  /** The pricer of a draft or a version; the live price list ("in_force") is the live pipeline's, not this. */
  resolve(selector: PriceListSelector): Promise<FramePricer> {
    switch (selector.kind) {
      case "draft":
        return this.forDraft(selector.name);
      case "version":
        return this.forVersion(Number(selector.version));
      default:
        throw new InvalidArgumentError(
          "price_list",
          "the price list in force is priced by the live pipeline; ask for a draft or a version",
        );
    }
  }

  async forVersion(number: number): Promise<FramePricer> {
    const modules = this.live.current.modules;
    const cached = this.versions.get(number);
    if (cached !== undefined && cached.modules === modules) return cached.pricer;
    const v = await store.mustVersion(this.db, number);
    const pricer = pricerOf(pipelineOf(v.content, modules, this.db, this.options.frameTimeout), number, undefined);
    this.versions.set(number, { modules, pricer });
    return pricer;
  }

  async forDraft(name: string): Promise<FramePricer> {
    const modules = this.live.current.modules;
    const d = await store.mustDraft(this.db, name);
    // Keyed by the content itself: two updates within one millisecond still give a new pricer.
    const text = JSON.stringify(d.content);
    const cached = this.drafts.get(name);
    if (cached !== undefined && cached.modules === modules && cached.text === text) return cached.pricer;
    const pricer = pricerOf(pipelineOf(d.content, modules, this.db, this.options.frameTimeout), undefined, name);
    this.drafts.set(name, { modules, text, pricer });
    return pricer;
  }
}
