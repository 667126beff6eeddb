/**
 * SimulationService: Simulate validated, the price list resolved, the
 * stored points read from storage and repriced (reprice.ts), and the groups
 * streamed back, the totals last.
 */
import type { SimulateResponse, SimulationRow, SimulationServiceService } from "../../../libs/gen/ratemesh/v1/simulation.js";
import { tokenOf } from "../../../libs/grpc/guard.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import { annotate } from "../../../libs/tracing/tracing.js";
import type { PriceListSource } from "./price-list-source.js";
import { type SimulationLimits, simulationQueryFrom } from "./query.js";
import { Repricer, type SimulationGroup } from "./reprice.js";
import type { StoredFrames } from "./stored-frames.js";

export interface SimulationApiDeps {
  priceLists: PriceListSource;
  stored: StoredFrames;
  limits: SimulationLimits;
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
      const filters = q.scopeIds.length === 0 ? q.filters : [...q.filters, { key: "scope_id", values: q.scopeIds }];
      const left = ctx.deadline === undefined ? DEFAULT_DEADLINE_SECONDS : (ctx.deadline.getTime() - Date.now()) / 1000;
      const repricer = new Repricer(q, pricer, deps.limits.maxGroups);
      for await (const frame of deps.stored.read(
        { begin: q.begin, end: q.end, filters },
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
