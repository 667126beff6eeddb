import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import type { ByteSlots, KeyTable } from "./codec/byte-slots.js";

/**
 * What the rating pipeline works on: frames of points whose quantities and
 * prices are exact decimal strings, and the modules that price them.
 *
 * Quantities and prices stay in their wire form (validated plain decimals,
 * "12.50", "-0.001") between modules: a module parses what it needs, exactly,
 * and writes back a string. Parsing every point into a BigInt decimal up
 * front would cost more than pricing most points.
 */

/** The contract's DataPoint, its qty and price validated plain decimal strings (price "0" before rating). */
export interface RatingPoint extends DataPoint {
  /**
   * desc[key] (groupby, else metadata) without building the maps: points
   * decoded from the wire answer it from the request bytes, so the hashmap
   * never materializes attributes no rule looks at. `utf8`, if given, is
   * the key's UTF-8 encoding (callers that ask often keep it).
   */
  attr?(key: string, utf8?: Uint8Array): string | undefined;
  /**
   * For points that answer attr(): the slot of attribute `key` (UTF-8) in
   * `slots`, found from the bytes without making a string; -2 when the point
   * has no such attribute, -1 when its value is not in the table.
   */
  attrSlot?(key: Uint8Array, slots: ByteSlots): number;
  /** attrSlot for every name of `keys` at once, into out[i]. */
  attrSlots?(keys: KeyTable, out: Int32Array): void;
  /**
   * Sets the price to m / 10^s (m an integer below 2^53, s >= 0) without
   * making a string: points decoded from the wire keep it so and write its
   * digits straight into the response. Reading `price` afterwards gives the
   * same value as a decimal string.
   */
  setFixedPrice?(m: number, s: number): void;
}

export interface RatingFrame {
  /** Empty for a quote without a project: only global rules apply. */
  scopeId: string;
  /** Rules valid at this instant apply (the period's start). */
  at: Date;
  points: RatingPoint[];
  /**
   * The scope's quantity of each type in the billing month before this
   * frame (validated decimals), for tiered prices; a type not listed: 0.
   */
  monthToDate?: ReadonlyMap<string, string>;
  /** Set by a module when a price depended on monthToDate (a tiered price): re-rating it re-rates the rest of its month. */
  monthDependent?: boolean;
}

/** One step of a module's reasoning, for Explain. */
export interface ExplainStep {
  group: string;
  kind: string;
  ruleId: string;
  detail: string;
  value: string;
}

export interface ModuleExplanation {
  module: string;
  priceBefore: string;
  priceAfter: string;
  steps: ExplainStep[];
}

export interface RatingModule {
  readonly name: string;
  readonly description: string;
  /**
   * Prices the frame's points in place: adds to (or sets) each point's price.
   * Synchronous on purpose: a frame is priced from the in-memory index, never
   * from the database.
   */
  rate(frame: RatingFrame): void;
  /** Prices one point (in place) and tells how; monthToDate: its type's quantity earlier in the month. */
  explain(point: RatingPoint, scopeId: string, at: Date, monthToDate?: string): ExplainStep[];
  /**
   * Whether some rule of the module is in force for points of `type` of the
   * scope at the instant. A module that prices nothing (noop) has no such
   * method: a point that no enabled module covers is counted as unpriced.
   */
  covers?(type: string, scopeId: string, at: Date): boolean;
}

/** Why points got no price: no module that prices is enabled, or none has a rule in force for their type. */
export type UnpricedReason = "no_module_enabled" | "no_rule_in_force";

/** The points of one frame no rule priced. */
export interface Unpriced {
  points: number;
  /** Their distinct types, sorted. */
  types: string[];
  reason: UnpricedReason;
}

export interface ModuleState {
  name: string;
  enabled: boolean;
  priority: number;
}

/**
 * A point the modules cannot price, e.g. a non-numeric value on a field that
 * has thresholds. `field` is relative to the point ("groupby.memory"); the
 * API layer prefixes the point's position in the request.
 */
export class PointError extends Error {
  constructor(
    readonly pointIndex: number,
    readonly field: string,
    readonly problem: string,
    /** invalid_argument: the point is at fault; failed_precondition: a stored rule is. */
    readonly kind: "invalid_argument" | "failed_precondition" = "invalid_argument",
  ) {
    super(`points[${pointIndex}]${field === "" ? "" : `.${field}`}: ${problem}`);
    this.name = "PointError";
  }
}

/** The attribute a hashmap field or a rule sees: groupby wins over metadata on a clash. */
export function descValue(p: RatingPoint, key: string): string | undefined {
  if (p.attr !== undefined) return p.attr(key);
  const g = p.groupby[key];
  if (typeof g === "string") return g;
  const m = p.metadata[key];
  return typeof m === "string" ? m : undefined;
}

export function descSource(p: RatingPoint, key: string): "groupby" | "metadata" {
  return typeof p.groupby[key] === "string" ? "groupby" : "metadata";
}

/** "12.5", "-3", "+0.001": what Decimal.parse accepts, checked without a regex. */
export function isPlainDecimal(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n === 0) return false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 || c0 === 43) i = 1;
  let digits = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else break;
  }
  if (digits === 0) return false;
  if (i === n) return true;
  if (s.charCodeAt(i) !== 46) return false;
  i++;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
