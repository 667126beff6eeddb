/**
 * StorageService: commits of rated periods, and the queries on what was
 * stored (frames, summaries, totals).
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { type CommitPeriodRequest, StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { rfc3339 } from "../../../libs/time/period.js";
import { annotate } from "../../../libs/tracing/tracing.js";
import { decodePageToken, encodePageToken, optionalDate, pageSize } from "../../../libs/validation/fields.js";
import type { CommitInput, CommitResult, OrderBy, PeriodPoint, PointCursor, SummaryQuery, SummaryRow } from "../domain.js";
import { latestCommittable } from "../engine/rules.js";
import { refusalOutcome } from "../telemetry.js";
import { adjustmentHandlers } from "./adjustments.js";
import { streamPointColumns } from "./point-columns.js";
import {
  addFramesInputFrom,
  commitInputFrom,
  KeyCatalog,
  rangeOrCurrentMonth,
  type StorageApiDeps,
  sha256,
  validateFilters,
  validateSummary,
} from "./requests.js";

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
  const { engine, periodSeconds, clock, telemetry } = deps;
  /** The engine's summary, timed. */
  const summaryOf = async (q: SummaryQuery): Promise<SummaryRow[]> => {
    const t0 = performance.now();
    const rows = await engine.summary(q);
    telemetry?.rollupQuerySeconds.observe((performance.now() - t0) / 1000);
    return rows;
  };
  return {
    ...adjustmentHandlers(deps),

    async commitPeriod(req) {
      const t0 = performance.now();
      let input: CommitInput;
      let result: CommitResult;
      try {
        input = commitInputFrom(req, periodSeconds, digestOf(req));
        input.notAfter = latestCommittable(clock.now(), periodSeconds, deps.waitPeriods, deps.clockSkewTolerance);
        if (req.rerateRestOfMonth === true && input.reprocessTaskId !== undefined)
          input.rerateRestOfMonthIn = deps.billingTimeZone ?? "UTC";
        annotate({
          "ratemesh.scope_id": input.scopeId,
          "ratemesh.period.begin": input.begin.toISOString(),
          "ratemesh.points": input.points.length,
        });
        result = await engine.commitPeriod(input);
      } catch (err) {
        telemetry?.commits[refusalOutcome(err)].inc();
        throw err;
      }
      if (telemetry !== undefined) {
        telemetry.commitSeconds.observe((performance.now() - t0) / 1000);
        telemetry.commits[result.replayed ? "replay" : "ok"].inc();
        telemetry.pointsStored.inc(result.pointsWritten);
      }
      annotate({ "ratemesh.replayed": result.replayed });
      // One line per accepted commit: the audit trail of which owner rated which period.
      deps.logger.debug(
        {
          scope_id: input.scopeId,
          begin: input.begin.toISOString(),
          fencing_token: input.fencingToken.toString(),
          fencing_epoch: input.fencingEpoch.toString(),
          owner: input.owner,
          replayed: result.replayed,
          task_id: input.reprocessTaskId,
          points: input.points.length,
        },
        "commit accepted",
      );
      return { state: result.state, replayed: result.replayed, pointsWritten: String(result.pointsWritten) };
    },

    async addDataFrames(req) {
      const input = addFramesInputFrom(req, periodSeconds);
      const result = await engine.addFrames(input, clock.now());
      deps.logger.info(
        {
          scopes: [...new Set(input.frames.map((f) => f.scopeId))].length,
          frames: input.frames.length,
          points: result.pointsAdded,
          idempotency_key: input.idempotencyKey,
          replayed: result.replayed,
          scopes_created: result.scopesCreated,
        },
        "data frames added",
      );
      return { pointsAdded: String(result.pointsAdded), replayed: result.replayed, scopesCreated: result.scopesCreated };
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

    async streamPointColumns(req, ctx, send) {
      const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, clock.now());
      const filters = await validateFilters(req.filters, new KeyCatalog(engine));
      await streamPointColumns(engine, periodSeconds, { begin, end, filters }, ctx.signal, send);
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
      const asOf = optionalDate(req.asOf, "as_of");
      const queryHash = createHash("sha256")
        .update(JSON.stringify([q.begin, q.end, q.groupBy, q.filters, q.orderBy, asOf]))
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
      const rows = await summaryOf({ begin: q.begin, end: q.end, groupBy: q.groupBy, filters: q.filters, asOf });
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
      const asOf = optionalDate(req.asOf, "as_of");
      const rows = await summaryOf({ begin, end, groupBy: [], filters, asOf });
      const row = rows[0];
      return {
        qty: (row?.qty ?? Decimal.ZERO).toString(),
        price: (row?.price ?? Decimal.ZERO).toString(),
        points: String(row?.count ?? 0),
      };
    },
  };
}
