/**
 * SimulationService: Simulate validated, the price list resolved, the
 * stored points read from storage and repriced (reprice.ts), and the groups
 * streamed back, the totals last.
 */
import type { Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import type { SimulateResponse, SimulationRow, SimulationServiceService } from "../../../libs/gen/ratemesh/v1/simulation.js";
import { tokenOf } from "../../../libs/grpc/guard.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { monthStart } from "../../../libs/time/month.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import { annotate } from "../../../libs/tracing/tracing.js";
import type { RatingPoint } from "../domain.js";
import type { PriceListSource } from "./price-list-source.js";
import { type SimulationLimits, simulationQueryFrom } from "./query.js";
import { Repricer, type SimulationGroup } from "./reprice.js";
import type { StoredFrames } from "./stored-frames.js";

export interface SimulationApiDeps {
  priceLists: PriceListSource;
  stored: StoredFrames;
  limits: SimulationLimits;
  /** [collect] billing_time_zone: the months of tiered prices' month-to-date. */
  billingTimeZone: string;
}

/**
 * Summary's filters on groupby keys: each filter's key has one of its
 * values (a point without the key has "", which a value "" matches).
 */
function matchesAll(filters: Filter[]): (p: RatingPoint) => boolean {
  const sets = filters.map((f) => ({ key: f.key, values: new Set(f.values) }));
  return (p) => sets.every((f) => f.values.has(p.groupby[f.key] ?? ""));
}

/** Rows per message: a few hundred kilobytes at most. */
const ROWS_PER_MESSAGE = 500;
/** A simulation without a deadline of its own may take this long. */
const DEFAULT_DEADLINE_SECONDS = 3600;

function rowOf(g: SimulationGroup): SimulationRow {
  const billed = g.billed.value();
  const simulated = g.simulated.value();
  return {
    begin: fromEpochSeconds(g.begin),
    end: fromEpochSeconds(g.end),
    groups: g.groups,
    qty: g.qty.toString(),
    billed: billed.normalize().toString(),
    simulated: simulated.normalize().toString(),
    delta: simulated.sub(billed).normalize().toString(),
    points: String(g.points),
  };
}

export function simulationHandlers(deps: SimulationApiDeps): Handlers<typeof SimulationServiceService> {
  return {
    async simulate(req, ctx, send) {
      const q = simulationQueryFrom(req, deps.limits);
      const pricer = await deps.priceLists.resolve(q.priceList);
      // Storage filters by scope and type only: a tiered price needs every point of its scope and type in the month-to-date.
      const streamed = q.filters.filter((f) => f.key === "scope_id" || f.key === "type");
      if (q.scopeIds.length > 0) streamed.push({ key: "scope_id", values: q.scopeIds });
      const local = q.filters.filter((f) => f.key !== "scope_id" && f.key !== "type");
      const left = ctx.deadline === undefined ? DEFAULT_DEADLINE_SECONDS : (ctx.deadline.getTime() - Date.now()) / 1000;
      const repricer = new Repricer(q, pricer, deps.limits.maxGroups, {
        timeZone: deps.billingTimeZone,
        ...(local.length === 0 ? {} : { keep: matchesAll(local) }),
      });
      // From the start of the window's billing month: the periods before the window count for the month-to-date.
      const from = monthStart(q.begin, deps.billingTimeZone);
      for await (const frame of deps.stored.read(
        { begin: from < q.begin ? from : q.begin, end: q.end, filters: streamed },
        { token: tokenOf(ctx.metadata), signal: ctx.signal, deadlineSeconds: Math.max(1, left) },
      )) {
        repricer.add(frame);
      }
      const r = repricer.result();
      annotate({ "ratemesh.points": r.points, "ratemesh.frames": r.frames, "ratemesh.groups": r.groups.length });
      for (let i = 0; i < r.groups.length; i += ROWS_PER_MESSAGE) {
        if (ctx.signal.aborted) return;
        const last = i + ROWS_PER_MESSAGE >= r.groups.length;
        const msg: SimulateResponse = { rows: r.groups.slice(i, i + ROWS_PER_MESSAGE).map(rowOf) };
        if (!last) await send(msg);
        else await send({ ...msg, totals: totalsOf(r, pricer.description) });
      }
      if (r.groups.length === 0) await send({ rows: [], totals: totalsOf(r, pricer.description) });
    },
  };
}

function totalsOf(r: ReturnType<Repricer["result"]>, priceList: string): SimulateResponse["totals"] {
  const billed = r.billed.value();
  const simulated = r.simulated.value();
  return {
    billed: billed.normalize().toString(),
    simulated: simulated.normalize().toString(),
    delta: simulated.sub(billed).normalize().toString(),
    points: String(r.points),
    frames: String(r.frames),
    rows: String(r.groups.length),
    priceList,
    unpricedPoints: String(r.unpriced),
  };
}
