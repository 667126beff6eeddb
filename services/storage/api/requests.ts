/**
 * Request validation shared by storage's gRPC services: each handler turns
 * a generated request into a validated domain input, naming the field on a
 * bad one, before anything is read or written.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import { AddDataFramesRequest, CommitPeriodRequest, type OrderBy as OrderByMessage } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Logger } from "../../../libs/logging/logger.js";
import type { Clock } from "../../../libs/time/period.js";
import { addSeconds, monthStart, nextMonthStart } from "../../../libs/time/period.js";
import {
  encodePageToken,
  optionalDate,
  parseDecimalField,
  parseInt64,
  requireAligned,
  requireDate,
  requireText,
} from "../../../libs/validation/fields.js";
import {
  type AddFramesInput,
  type CommitInput,
  isTimeBucket,
  type OrderBy,
  type PointFilter,
  RESERVED_KEYS,
  type ScopeSelection,
  type StorageEngine,
  type StoredPoint,
} from "../domain.js";
import type { StorageTelemetry } from "../telemetry.js";

export interface StorageApiDeps {
  engine: StorageEngine;
  logger: Logger;
  clock: Clock;
  periodSeconds: number;
  /** [collect] wait_periods and [storage] clock_skew_tolerance (seconds): the latest period storage's clock lets be committed. */
  waitPeriods: number;
  clockSkewTolerance: number;
  /** [collect] billing_time_zone: reprocessing tasks go on to the end of a billing month there; none: as given. */
  billingTimeZone?: string;
  /** Where commits and summaries are counted; none: not counted. */
  telemetry?: StorageTelemetry;
}

/** At most this many digits on each side of the point: NUMERIC and the SQLite parts hold them exactly. */
const MAX_DIGITS = 40;
const EXACT = new RegExp(`^[+-]?\\d{1,${MAX_DIGITS}}(?:\\.\\d{1,${MAX_DIGITS}})?$`);
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f]/;

function exactText(value: string, field: string, allowEmpty: boolean): string {
  if (EXACT.test(value)) return value;
  if (value === "" && allowEmpty) return "0";
  parseDecimalField(value, field);
  throw new InvalidArgumentError(
    field,
    `${JSON.stringify(value.slice(0, 50))} has more than ${MAX_DIGITS} digits before or after the point`,
  );
}

/**
 * Validates a CommitPeriod request into a domain input. `digest` tells a
 * retry of this very request from a different commit of the same period:
 * the gRPC handler passes the SHA-256 of the request's bytes as received (a
 * retry sends the same bytes); without it, the request is encoded again.
 */
export function commitInputFrom(req: CommitPeriodRequest, periodSeconds: number, digest?: string): CommitInput {
  const frame = req.frame;
  if (frame === undefined) throw new InvalidArgumentError("frame", "is required");
  const scopeId = requireText(frame.scopeId, "frame.scope_id");
  const begin = requireAligned(requireDate(frame.begin, "frame.begin"), periodSeconds, "frame.begin");
  const end = requireDate(frame.end, "frame.end");
  const wanted = addSeconds(begin, periodSeconds);
  if (end.getTime() !== wanted.getTime()) {
    throw new InvalidArgumentError("frame.end", `must be begin + one period (${wanted.toISOString()}), got ${end.toISOString()}`);
  }
  const expectedState = optionalDate(req.expectedState, "expected_state");
  if (expectedState !== undefined && expectedState.getTime() !== begin.getTime()) {
    throw new InvalidArgumentError(
      "frame.begin",
      `must equal expected_state (${expectedState.toISOString()}): a commit rates the period that follows the state`,
    );
  }
  const taskId = req.reprocessTaskId === "" ? undefined : req.reprocessTaskId;
  if (taskId !== undefined && expectedState === undefined) {
    throw new InvalidArgumentError("expected_state", "is required for a reprocessing commit: the task's progress");
  }
  const fencingToken = parseInt64(req.fencingToken, "fencing_token");
  const fencingEpoch = parseInt64(req.fencingEpoch, "fencing_epoch");
  const unpricedPoints = Number(parseInt64(req.unpricedPoints, "unpriced_points"));
  if (unpricedPoints < 0 || unpricedPoints > frame.points.length) {
    throw new InvalidArgumentError("unpriced_points", `must be from 0 to the frame's ${frame.points.length} points, got ${unpricedPoints}`);
  }
  const points: StoredPoint[] = new Array(frame.points.length);
  for (let i = 0; i < frame.points.length; i++) {
    const p = frame.points[i];
    if (p === undefined) continue;
    // Field names are only built for an error: this loop runs for every point.
    const type = p.type;
    if (type.trim() === "") throw new InvalidArgumentError(`frame.points[${i}].type`, "is required");
    if (CONTROL.test(type)) throw new InvalidArgumentError(`frame.points[${i}].type`, "contains a control character");
    const qty = EXACT.test(p.qty) ? p.qty : exactText(p.qty, `frame.points[${i}].qty`, false);
    const price = EXACT.test(p.price) ? p.price : exactText(p.price, `frame.points[${i}].price`, true);
    for (const k in p.groupby) {
      if (k === "" || RESERVED_KEYS.has(k)) {
        throw new InvalidArgumentError(
          `frame.points[${i}].groupby`,
          k === ""
            ? "a key is empty"
            : `key ${JSON.stringify(k)} is reserved (it names ${k.startsWith("time") ? "a time bucket" : "a column"})`,
        );
      }
    }
    let metadataJson = "";
    for (const _ in p.metadata) {
      metadataJson = JSON.stringify(p.metadata);
      break;
    }
    points[i] = { type, unit: p.unit, qty, price, groupby: p.groupby, metadataJson };
  }
  return {
    scopeId,
    begin,
    end,
    points,
    expectedState,
    fencingToken,
    fencingEpoch,
    owner: req.owner,
    digest: digest ?? sha256(CommitPeriodRequest.encode(req).finish()),
    reprocessTaskId: taskId,
    scopeKey: req.scopeKey,
    fetcher: req.fetcher,
    collector: req.collector,
    unpricedPoints,
  };
}

/**
 * Validates an AddDataFrames request: each frame exactly as CommitPeriod
 * validates its frame (commitInputFrom, one set of rules), the field named
 * `frames[i]` instead of `frame`.
 */
export function addFramesInputFrom(req: AddDataFramesRequest, periodSeconds: number): AddFramesInput {
  if (req.frames.length === 0) throw new InvalidArgumentError("frames", "give at least one frame");
  const frames = req.frames.map((frame, i) => {
    try {
      const { scopeId, begin, points } = commitInputFrom(CommitPeriodRequest.fromPartial({ frame }), periodSeconds, "");
      return { scopeId, begin, points };
    } catch (err) {
      if (!(err instanceof InvalidArgumentError) || !err.field.startsWith("frame")) throw err;
      throw new InvalidArgumentError(`frames[${i}]${err.field.slice("frame".length)}`, err.message.slice(err.field.length + 2));
    }
  });
  return {
    frames,
    idempotencyKey: req.idempotencyKey === "" ? undefined : req.idempotencyKey,
    digest: sha256(AddDataFramesRequest.encode(req).finish()),
    scopeKey: req.scopeKey,
    fetcher: req.fetcher,
    collector: req.collector,
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Known groupby keys, read from the engine only when a request names one. */
export class KeyCatalog {
  private known: Set<string> | undefined;
  constructor(private readonly engine: StorageEngine) {}

  async check(key: string, field: string, what: string): Promise<void> {
    if (key === "type" || key === "scope_id") return;
    this.known ??= await this.engine.knownKeys();
    if (this.known.has(key)) return;
    const list = [...this.known].sort();
    const shown = list.length === 0 ? "no groupby key has been stored yet" : `known: type, scope_id, ${list.slice(0, 30).join(", ")}`;
    throw new InvalidArgumentError(field, `unknown ${what} ${JSON.stringify(key)} (${shown})`);
  }
}

export async function validateFilters(filters: Filter[], catalog: KeyCatalog): Promise<PointFilter[]> {
  const out: PointFilter[] = [];
  for (const [i, f] of filters.entries()) {
    if (f.key.trim() === "") throw new InvalidArgumentError(`filters[${i}].key`, "is required");
    if (f.values.length === 0) throw new InvalidArgumentError(`filters[${i}].values`, "needs at least one value");
    await catalog.check(f.key, `filters[${i}].key`, "filter key");
    out.push({ key: f.key, values: f.values });
  }
  return out;
}

export function rangeOrCurrentMonth(begin: Date | undefined, end: Date | undefined, now: Date): { begin: Date; end: Date } {
  const b = optionalDate(begin, "begin") ?? monthStart(now);
  const e = optionalDate(end, "end") ?? nextMonthStart(now);
  if (e.getTime() <= b.getTime()) throw new InvalidArgumentError("end", `must be after begin (${b.toISOString()})`);
  return { begin: b, end: e };
}

export interface ValidSummary {
  begin: Date;
  end: Date;
  groupBy: string[];
  filters: PointFilter[];
  orderBy: OrderBy[];
  columns: string[];
}

export async function validateSummary(
  req: { begin?: Date | undefined; end?: Date | undefined; groupBy: string[]; filters: Filter[]; orderBy: OrderByMessage[] },
  catalog: KeyCatalog,
  now: Date,
): Promise<ValidSummary> {
  const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, now);
  const seen = new Set<string>();
  let bucket: string | undefined;
  for (const [i, k] of req.groupBy.entries()) {
    const field = `group_by[${i}]`;
    if (k.trim() === "") throw new InvalidArgumentError(field, "is empty");
    if (seen.has(k)) throw new InvalidArgumentError(field, `${JSON.stringify(k)} is already in group_by`);
    seen.add(k);
    if (isTimeBucket(k)) {
      if (bucket !== undefined) throw new InvalidArgumentError(field, `only one time bucket may be given (${bucket} already is)`);
      bucket = k;
    } else {
      await catalog.check(k, field, "group-by key");
    }
  }
  const filters = await validateFilters(req.filters, catalog);
  const columns = ["begin", "end", "qty", "price", ...req.groupBy.filter((k) => !isTimeBucket(k))];
  const orderBy = req.orderBy.map((o, i) => {
    if (!columns.includes(o.column)) {
      throw new InvalidArgumentError(`order_by[${i}].column`, `${JSON.stringify(o.column)} is not a column (${columns.join(", ")})`);
    }
    return { column: o.column, descending: o.descending };
  });
  return { begin, end, groupBy: req.groupBy, filters, orderBy, columns };
}

export function selection(scopeIds: string[], all: boolean): ScopeSelection {
  if (all && scopeIds.length > 0) throw new InvalidArgumentError("all_scopes", "cannot be combined with scope_ids");
  if (all) return { all: true };
  if (scopeIds.length === 0) throw new InvalidArgumentError("scope_ids", "give at least one scope id, or all_scopes");
  for (const [i, id] of scopeIds.entries()) requireText(id, `scope_ids[${i}]`);
  return { all: false, scopeIds };
}

/**
 * A page of a list read with limit + 1 rows: the first `limit`, and the
 * token of the next page (from the last row kept) when there was one more.
 */
export function pageOf<T>(rows: T[], limit: number, cursor: (last: T) => unknown): { page: T[]; nextPageToken: string } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextPageToken: rows.length > limit && last !== undefined ? encodePageToken(cursor(last)) : "" };
}
