/**
 * A Simulate request, validated into the simulation's own input: the
 * window (bounded), the scopes, the filters (passed on to storage, which
 * validates their keys), the group-by keys and the price list.
 */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import type { SimulateRequest } from "../../../libs/gen/ratemesh/v1/simulation.js";
import type { CalendarBucket } from "../../../libs/time/buckets.js";
import { requireDate, requireText } from "../../../libs/validation/fields.js";
import type { PriceListSelector } from "./price-list-source.js";

export interface SimulationLimits {
  maxDays: number;
  maxGroups: number;
}

/** "time": the collect period of each point; the others: UTC calendar buckets. */
export type TimeGrain = "period" | CalendarBucket;

const TIME_BUCKETS: Readonly<Record<string, TimeGrain>> = {
  time: "period",
  "time-d": "day",
  "time-w": "week",
  "time-m": "month",
  "time-y": "year",
};

const MAX_GROUP_KEYS = 16;
const MAX_SCOPES = 1000;

/** One grouping column that is not time: what a point is grouped by. */
export type GroupKey = { kind: "scope" } | { kind: "type" } | { kind: "attribute"; name: string };

export interface SimulationQuery {
  begin: Date;
  end: Date;
  scopeIds: string[];
  filters: Filter[];
  /** The request's group_by, as given (for the answer's columns). */
  groupBy: string[];
  /** The non-time keys, in order. */
  keys: GroupKey[];
  /** Undefined: no time bucket (one bucket: the window). */
  grain: TimeGrain | undefined;
  priceList: PriceListSelector;
}

function selectorOf(req: SimulateRequest): PriceListSelector {
  const p = req.priceList;
  if (p === undefined || p.$case === "inForce") return { kind: "in_force" };
  if (p.$case === "draft") return { kind: "draft", name: requireText(p.value, "draft") };
  const version = BigInt(p.value);
  if (version < 1n) throw new InvalidArgumentError("version", `must be a published version number >= 1, got ${p.value}`);
  return { kind: "version", version };
}

export function simulationQueryFrom(req: SimulateRequest, limits: SimulationLimits): SimulationQuery {
  const begin = requireDate(req.begin, "begin");
  const end = requireDate(req.end, "end");
  if (end.getTime() <= begin.getTime()) throw new InvalidArgumentError("end", `must be after begin (${begin.toISOString()})`);
  const days = (end.getTime() - begin.getTime()) / 86_400_000;
  if (days > limits.maxDays) {
    throw new InvalidArgumentError("end", `the window is ${Math.ceil(days)} days long; a simulation covers at most ${limits.maxDays} days`);
  }
  if (req.scopeIds.length > MAX_SCOPES)
    throw new InvalidArgumentError("scope_ids", `at most ${MAX_SCOPES} scopes, got ${req.scopeIds.length}`);
  const scopeIds = req.scopeIds.map((s, i) => requireText(s, `scope_ids[${i}]`));
  for (const [i, f] of req.filters.entries()) {
    requireText(f.key, `filters[${i}].key`);
    if (f.values.length === 0) throw new InvalidArgumentError(`filters[${i}].values`, "give at least one value");
  }
  if (req.groupBy.length > MAX_GROUP_KEYS)
    throw new InvalidArgumentError("group_by", `at most ${MAX_GROUP_KEYS} keys, got ${req.groupBy.length}`);
  const seen = new Set<string>();
  const keys: GroupKey[] = [];
  let grain: TimeGrain | undefined;
  for (const [i, k] of req.groupBy.entries()) {
    const field = `group_by[${i}]`;
    if (k.trim() === "") throw new InvalidArgumentError(field, "is empty");
    if (seen.has(k)) throw new InvalidArgumentError(field, `${JSON.stringify(k)} is already in group_by`);
    seen.add(k);
    const bucket = TIME_BUCKETS[k];
    if (bucket !== undefined) {
      if (grain !== undefined) throw new InvalidArgumentError(field, "only one time bucket may be given");
      grain = bucket;
    } else if (k === "scope_id") keys.push({ kind: "scope" });
    else if (k === "type") keys.push({ kind: "type" });
    else keys.push({ kind: "attribute", name: k });
  }
  return { begin, end, scopeIds, filters: req.filters, groupBy: req.groupBy, keys, grain, priceList: selectorOf(req) };
}
