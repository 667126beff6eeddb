/**
 * Storage's gRPC handlers: each turns a generated request into a validated
 * domain input (naming the field on a bad one, before anything is read or
 * written), calls the engine, and builds the reply.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError, NotFoundError } from "../../libs/errors/errors.js";
import type { DataFrame, Filter } from "../../libs/gen/ratemesh/v1/common.js";
import {
  CommitPeriodRequest,
  type OrderBy as OrderByMessage,
  type ReprocessServiceService,
  type ReprocessTask,
  type Scope,
  type ScopeServiceService,
  StorageServiceService,
} from "../../libs/gen/ratemesh/v1/storage.js";
import type { Handlers } from "../../libs/grpc/server.js";
import type { Logger } from "../../libs/logging/logger.js";
import { Decimal } from "../../libs/money/decimal.js";
import type { Clock } from "../../libs/time/period.js";
import { addSeconds, monthStart, nextMonthStart, rfc3339 } from "../../libs/time/period.js";
import {
  decodePageToken,
  encodePageToken,
  optionalDate,
  pageSize,
  parseDecimalField,
  parseInt64,
  requireAligned,
  requireDate,
  requireText,
} from "../../libs/validation/fields.js";
import {
  type CommitInput,
  isTimeBucket,
  type OrderBy,
  type PeriodPoint,
  type PointCursor,
  type PointFilter,
  RESERVED_KEYS,
  type ScopeRecord,
  type ScopeSelection,
  type StorageEngine,
  type StoredPoint,
  type SummaryRow,
  type TaskCursor,
  type TaskRecord,
} from "./domain.js";

export interface StorageApiDeps {
  engine: StorageEngine;
  logger: Logger;
  clock: Clock;
  periodSeconds: number;
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

function toScopeMessage(s: ScopeRecord): Scope {
  return {
    scopeId: s.scopeId,
    state: s.state,
    active: s.active,
    scopeKey: s.scopeKey,
    fetcher: s.fetcher,
    collector: s.collector,
    lastError: s.lastError ?? "",
    lastErrorAt: s.lastErrorAt,
    activeToggledAt: s.activeToggledAt,
    fencingToken: s.fencingToken.toString(),
    createdAt: s.createdAt,
  };
}

function toTaskMessage(t: TaskRecord): ReprocessTask {
  return {
    taskId: t.taskId,
    scopeId: t.scopeId,
    begin: t.begin,
    end: t.end,
    progress: t.progress,
    reason: t.reason,
    createdAt: t.createdAt,
    finishedAt: t.finishedAt,
    periodsTotal: String(t.periodsTotal),
    periodsDone: String(t.periodsDone),
  };
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
    owner: req.owner,
    digest: digest ?? sha256(CommitPeriodRequest.encode(req).finish()),
    reprocessTaskId: taskId,
    scopeKey: req.scopeKey,
    fetcher: req.fetcher,
    collector: req.collector,
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Known groupby keys, read from the engine only when a request names one. */
class KeyCatalog {
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

async function validateFilters(filters: Filter[], catalog: KeyCatalog): Promise<PointFilter[]> {
  const out: PointFilter[] = [];
  for (const [i, f] of filters.entries()) {
    if (f.key.trim() === "") throw new InvalidArgumentError(`filters[${i}].key`, "is required");
    if (f.values.length === 0) throw new InvalidArgumentError(`filters[${i}].values`, "needs at least one value");
    await catalog.check(f.key, `filters[${i}].key`, "filter key");
    out.push({ key: f.key, values: f.values });
  }
  return out;
}

function rangeOrCurrentMonth(begin: Date | undefined, end: Date | undefined, now: Date): { begin: Date; end: Date } {
  const b = optionalDate(begin, "begin") ?? monthStart(now);
  const e = optionalDate(end, "end") ?? nextMonthStart(now);
  if (e.getTime() <= b.getTime()) throw new InvalidArgumentError("end", `must be after begin (${b.toISOString()})`);
  return { begin: b, end: e };
}

function isCursor(v: unknown): v is { r: number; b: number; s: number } {
  const c = v as { r?: unknown; b?: unknown; s?: unknown };
  return Number.isSafeInteger(c.r) && Number.isSafeInteger(c.b) && Number.isSafeInteger(c.s);
}

function cursorToken(c: PointCursor | undefined): string {
  return c === undefined ? "" : encodePageToken({ r: c.scopeRef, b: c.begin, s: c.seq });
}

/** Consecutive points of the same (scope, period) make one frame. */
function toFrames(points: PeriodPoint[]): DataFrame[] {
  const frames: DataFrame[] = [];
  let current: DataFrame | undefined;
  for (const p of points) {
    if (current === undefined || current.scopeId !== p.scopeId || current.begin?.getTime() !== p.begin.getTime()) {
      current = { scopeId: p.scopeId, begin: p.begin, end: p.end, points: [] };
      frames.push(current);
    }
    current.points.push({ type: p.type, unit: p.unit, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata });
  }
  return frames;
}

interface ValidSummary {
  begin: Date;
  end: Date;
  groupBy: string[];
  filters: PointFilter[];
  orderBy: OrderBy[];
  columns: string[];
}

async function validateSummary(
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

function sortRows(rows: SummaryRow[], orderBy: OrderBy[], columns: string[]): void {
  if (orderBy.length === 0) return;
  const compare = (a: SummaryRow, b: SummaryRow, column: string): number => {
    switch (column) {
      case "begin":
        return a.begin.getTime() - b.begin.getTime();
      case "end":
        return a.end.getTime() - b.end.getTime();
      case "qty":
        return a.qty.cmp(b.qty);
      case "price":
        return a.price.cmp(b.price);
      default: {
        const i = columns.indexOf(column) - 4;
        const x = a.groups[i] ?? "";
        const y = b.groups[i] ?? "";
        return x === y ? 0 : x < y ? -1 : 1;
      }
    }
  };
  // Array.prototype.sort is stable: rows equal on every key keep the default order.
  rows.sort((a, b) => {
    for (const o of orderBy) {
      const c = compare(a, b, o.column);
      if (c !== 0) return o.descending ? -c : c;
    }
    return 0;
  });
}

const STREAM_PAGE = 2000;

/**
 * The StorageService definition to serve, and its handlers. The definition
 * differs from the generated one in one way: CommitPeriod's deserializer
 * also records the SHA-256 of the bytes received, which the handler uses as
 * the commit's digest (hashing the bytes costs far less than serialising
 * the decoded frame again).
 */
export function storageService(deps: StorageApiDeps): {
  definition: typeof StorageServiceService;
  handlers: Partial<Handlers<typeof StorageServiceService>>;
} {
  const digests = new WeakMap<object, string>();
  const commit = StorageServiceService.commitPeriod;
  const definition: typeof StorageServiceService = {
    ...StorageServiceService,
    commitPeriod: {
      ...commit,
      requestDeserialize: (bytes: Buffer) => {
        const req = commit.requestDeserialize(bytes);
        digests.set(req, sha256(bytes));
        return req;
      },
    },
  };
  return { definition, handlers: storageHandlers(deps, (req) => digests.get(req)) };
}

export function storageHandlers(
  deps: StorageApiDeps,
  digestOf: (req: CommitPeriodRequest) => string | undefined = () => undefined,
): Partial<Handlers<typeof StorageServiceService>> {
  const { engine, periodSeconds, clock } = deps;
  return {
    async commitPeriod(req) {
      const input = commitInputFrom(req, periodSeconds, digestOf(req));
      const result = await engine.commitPeriod(input);
      // One line per accepted commit: the audit trail of which owner rated which period.
      deps.logger.debug(
        {
          scope_id: input.scopeId,
          begin: input.begin.toISOString(),
          fencing_token: input.fencingToken.toString(),
          owner: input.owner,
          replayed: result.replayed,
          task_id: input.reprocessTaskId,
          points: input.points.length,
        },
        "commit accepted",
      );
      return { state: result.state, replayed: result.replayed, pointsWritten: String(result.pointsWritten) };
    },

    async listDataFrames(req) {
      const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, clock.now());
      const limit = pageSize(req.pageSize, "page_size", 1000, 10000);
      const token = decodePageToken(req.pageToken, "page_token", isCursor);
      const filters = await validateFilters(req.filters, new KeyCatalog(engine));
      const after = token === undefined ? undefined : { scopeRef: token.r, begin: token.b, seq: token.s };
      const { points, next } = await engine.listPoints({ begin, end, filters, limit, after });
      return { frames: toFrames(points), nextPageToken: cursorToken(next) };
    },

    async streamDataFrames(req, ctx, send) {
      const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, clock.now());
      const filters = await validateFilters(req.filters, new KeyCatalog(engine));
      let after: PointCursor | undefined;
      do {
        if (ctx.signal.aborted) return;
        const page = await engine.listPoints({ begin, end, filters, limit: STREAM_PAGE, after });
        for (const frame of toFrames(page.points)) await send({ frame });
        after = page.next;
      } while (after !== undefined);
    },

    async summary(req) {
      const q = await validateSummary(req, new KeyCatalog(engine), clock.now());
      const size = pageSize(req.pageSize, "page_size", 100, 10000);
      const queryHash = createHash("sha256")
        .update(JSON.stringify([q.begin, q.end, q.groupBy, q.filters, q.orderBy]))
        .digest("base64url")
        .slice(0, 12);
      const token = decodePageToken(
        req.pageToken,
        "page_token",
        (v): v is { o: number; q: string } =>
          Number.isSafeInteger((v as { o?: unknown }).o) && typeof (v as { q?: unknown }).q === "string",
      );
      if (token !== undefined && token.q !== queryHash) {
        throw new InvalidArgumentError("page_token", "was returned for another query: keep the query the same while paging");
      }
      const offset = token?.o ?? 0;
      const rows = await engine.summary({ begin: q.begin, end: q.end, groupBy: q.groupBy, filters: q.filters });
      sortRows(rows, q.orderBy, q.columns);
      const page = rows.slice(offset, offset + size);
      return {
        columns: q.columns,
        rows: page.map((r) => ({
          values: [rfc3339(r.begin), rfc3339(r.end), r.qty.toString(), r.price.toString(), ...r.groups],
        })),
        nextPageToken: offset + size < rows.length ? encodePageToken({ o: offset + size, q: queryHash }) : "",
        totalRows: String(rows.length),
      };
    },

    async total(req) {
      const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, clock.now());
      const filters = await validateFilters(req.filters, new KeyCatalog(engine));
      const rows = await engine.summary({ begin, end, groupBy: [], filters });
      const row = rows[0];
      return {
        qty: (row?.qty ?? Decimal.ZERO).toString(),
        price: (row?.price ?? Decimal.ZERO).toString(),
        points: String(row?.count ?? 0),
      };
    },
  };
}

function selection(scopeIds: string[], all: boolean): ScopeSelection {
  if (all && scopeIds.length > 0) throw new InvalidArgumentError("all_scopes", "cannot be combined with scope_ids");
  if (all) return { all: true };
  if (scopeIds.length === 0) throw new InvalidArgumentError("scope_ids", "give at least one scope id, or all_scopes");
  for (const [i, id] of scopeIds.entries()) requireText(id, `scope_ids[${i}]`);
  return { all: false, scopeIds };
}

export function scopeHandlers(deps: StorageApiDeps): Partial<Handlers<typeof ScopeServiceService>> {
  const { engine, clock, periodSeconds } = deps;
  return {
    async listScopes(req) {
      const limit = pageSize(req.pageSize, "page_size", 100, 10000);
      const after = decodePageToken(
        req.pageToken,
        "page_token",
        (v): v is { a: string } => typeof (v as { a?: unknown }).a === "string",
      )?.a;
      const scopes = await engine.listScopes({
        scopeIds: req.scopeIds,
        active: req.active,
        scopeKey: req.scopeKey,
        fetcher: req.fetcher,
        collector: req.collector,
        limit: limit + 1,
        after,
      });
      const page = scopes.slice(0, limit);
      const last = page[page.length - 1];
      return {
        scopes: page.map(toScopeMessage),
        nextPageToken: scopes.length > limit && last !== undefined ? encodePageToken({ a: last.scopeId }) : "",
      };
    },

    async getScope(req) {
      const id = requireText(req.scopeId, "scope_id");
      const scope = await engine.getScope(id);
      if (scope === undefined) throw new NotFoundError("scope", id);
      return { scope: toScopeMessage(scope) };
    },

    async createScope(req) {
      const scopeId = requireText(req.scopeId, "scope_id");
      const state = optionalDate(req.state, "state");
      if (state !== undefined) requireAligned(state, periodSeconds, "state");
      const scope = await engine.createScope(
        { scopeId, active: req.active ?? true, state, scopeKey: req.scopeKey, fetcher: req.fetcher, collector: req.collector },
        clock.now(),
      );
      return { scope: toScopeMessage(scope) };
    },

    async updateScope(req) {
      const scope = await engine.updateScope(
        {
          scopeId: requireText(req.scopeId, "scope_id"),
          active: req.active,
          scopeKey: req.scopeKey,
          fetcher: req.fetcher,
          collector: req.collector,
        },
        clock.now(),
      );
      return { scope: toScopeMessage(scope) };
    },

    async resetScope(req) {
      const scopes = selection(req.scopeIds, req.allScopes);
      const state = requireAligned(requireDate(req.state, "state"), periodSeconds, "state");
      const reset = await engine.resetScopes({ scopes, state }, clock.now());
      return { scopes: reset.map(toScopeMessage) };
    },

    async recordScopeError(req) {
      await engine.recordScopeError({
        scopeId: requireText(req.scopeId, "scope_id"),
        message: requireText(req.message, "message"),
        periodBegin: optionalDate(req.periodBegin, "period_begin"),
        fencingToken: parseInt64(req.fencingToken, "fencing_token"),
        at: clock.now(),
      });
      return {};
    },
  };
}

function isTaskCursor(v: unknown): v is { c: number; t: string } {
  const c = v as { c?: unknown; t?: unknown };
  return Number.isSafeInteger(c.c) && typeof c.t === "string";
}

export function reprocessHandlers(deps: StorageApiDeps): Partial<Handlers<typeof ReprocessServiceService>> {
  const { engine, clock, periodSeconds } = deps;
  return {
    async createTask(req) {
      const scopes = selection(req.scopeIds, req.allScopes);
      const begin = requireAligned(requireDate(req.begin, "begin"), periodSeconds, "begin");
      const end = requireAligned(requireDate(req.end, "end"), periodSeconds, "end");
      if (end.getTime() <= begin.getTime()) throw new InvalidArgumentError("end", `must be after begin (${begin.toISOString()})`);
      const reason = requireText(req.reason, "reason");
      const tasks = await engine.createTasks({ scopes, begin, end, reason }, clock.now());
      return { tasks: tasks.map(toTaskMessage) };
    },

    async listTasks(req) {
      const limit = pageSize(req.pageSize, "page_size", 100, 10000);
      const token = decodePageToken(req.pageToken, "page_token", isTaskCursor);
      const after: TaskCursor | undefined = token === undefined ? undefined : { createdAt: token.c, taskId: token.t };
      const tasks = await engine.listTasks({
        scopeIds: req.scopeIds,
        unfinishedOnly: req.unfinishedOnly,
        ascending: req.ascending,
        limit: limit + 1,
        after,
      });
      const page = tasks.slice(0, limit);
      const last = page[page.length - 1];
      return {
        tasks: page.map(toTaskMessage),
        nextPageToken: tasks.length > limit && last !== undefined ? encodePageToken({ c: last.createdAt.getTime(), t: last.taskId }) : "",
      };
    },
  };
}
