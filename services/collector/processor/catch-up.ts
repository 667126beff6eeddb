/**
 * The catch-up of one unit: up to [collect] batch_scopes scopes at the same
 * point in time. The unit takes their ownership, reads their state from
 * storage, then rates every ratable period batch by batch
 * ([collect] batch_periods periods collected at once, see
 * collect-and-rate.ts), committing period by period (commit.ts), until
 * none is left or the unit must stop; then it releases the scopes.
 */
import { status as grpcStatus } from "@grpc/grpc-js";
import { mapLimit } from "../../../libs/async/limit.js";
import type { Ownership } from "../../../libs/coordination/coordinator.js";
import { errorMessage } from "../../../libs/errors/errors.js";
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { isCode } from "../../../libs/grpc/status.js";
import { addSeconds, periodsBetween } from "../../../libs/time/period.js";
import { CollectAndRate } from "./collect-and-rate.js";
import { PeriodCommitter } from "./commit.js";
import type { ProcessorContext } from "./context.js";
import type { Member } from "./progress.js";

export class CatchUp {
  private readonly collectAndRate: CollectAndRate;
  private readonly committer: PeriodCommitter;

  constructor(private readonly ctx: ProcessorContext) {
    this.collectAndRate = new CollectAndRate(ctx);
    this.committer = new PeriodCommitter(ctx);
  }

  /** Owns what it can of the scopes, reads their states, and catches each group at the same state up. */
  async unit(scopeIds: string[]): Promise<void> {
    const { deps, board, failures, ratable } = this.ctx;
    const { coordinator, logger } = deps;
    const owned = (await Promise.all(scopeIds.map((s) => coordinator.acquire(s).catch(() => undefined)))).filter(
      (o): o is Ownership => o !== undefined,
    );
    if (owned.length > 0) {
      logger.debug({ scopes: owned.map((o) => o.scopeId), fencing_tokens: owned.map((o) => o.token.toString()) }, "scopes acquired");
    }
    try {
      const members: Member[] = [];
      for (const o of owned) {
        const p = board.busy(o.scopeId, o.token);
        let known = true;
        try {
          const { scope } = await deps.scopes.getScope({ scopeId: o.scopeId }, { signal: o.signal });
          p.state = scope?.state;
          p.unpricedPoints = Number(scope?.unpricedPoints ?? 0);
          p.active = scope?.active ?? true;
        } catch (err) {
          if (!isCode(err, grpcStatus.NOT_FOUND)) {
            failures.fail([o], err, undefined);
            continue;
          }
          p.state = undefined;
          known = false;
        }
        if (p.active && p.state === undefined) {
          p.state = await this.fixStart(o, known);
          if (p.state === undefined) continue;
        }
        if (p.active) members.push({ ownership: o, state: p.state });
      }
      // Scopes read at different states than the hint go in their own groups.
      const groups = new Map<number, Member[]>();
      for (const m of members) {
        const key = ratable.firstBegin(m.state).getTime();
        groups.set(key, [...(groups.get(key) ?? []), m]);
      }
      for (const group of groups.values()) await this.group(group);
    } catch (err) {
      logger.error({ err: errorMessage(err), scopes: scopeIds }, "unit failed");
    } finally {
      await Promise.all(owned.map((o) => coordinator.release(o)));
    }
  }

  /**
   * A scope never rated starts at [collect] start, else at the start of the
   * month it is first seen in: that start is stored at once as its state,
   * so that it stays where it is even if the first periods fail until the
   * month is over. Undefined when it could not be stored (read again later).
   */
  private async fixStart(o: Ownership, known: boolean): Promise<Date | undefined> {
    const { deps, opts } = this.ctx;
    const start = this.ctx.ratable.firstBegin(undefined);
    try {
      if (known) await deps.scopes.updateScope({ scopeId: o.scopeId, start }, { signal: o.signal });
      else {
        const scope = {
          scopeId: o.scopeId,
          state: start,
          scopeKey: opts.scopeKey,
          fetcher: opts.fetcherName,
          collector: opts.collectorName,
        };
        await deps.scopes.createScope(scope, { signal: o.signal });
      }
      deps.logger.info({ scope_id: o.scopeId, start: start.toISOString() }, "new scope: its start is fixed");
      return start;
    } catch (err) {
      // Another writer fixed it first (ALREADY_EXISTS, FAILED_PRECONDITION): the next unit reads it.
      if (!isCode(err, grpcStatus.ALREADY_EXISTS) && !isCode(err, grpcStatus.FAILED_PRECONDITION))
        this.ctx.failures.fail([o], err, undefined);
      return undefined;
    }
  }

  /**
   * Rates every ratable period of the group's scopes (all at the same
   * state), batch by batch, until none is left. A group with a reprocessing
   * task goes to the task's end instead of what may be rated now.
   */
  async group(group: Member[]): Promise<void> {
    const { opts, deps, failures, ratable, signals } = this.ctx;
    const { periodSeconds, batchPeriods } = opts;
    const { collectAndRate, committer } = this;
    let members = group;
    let begin = ratable.firstBegin(group[0]?.state);
    while (members.length > 0 && !signals.stopping.aborted) {
      // Rebalanced away, or ownership lost: stop here; the next owner goes on.
      members = members.filter((m) => !m.ownership.signal.aborted && deps.coordinator.shouldOwn(m.ownership.scopeId));
      // A reprocessing task ends at its window's end; regular rating at what may be rated now.
      const behind = periodsBetween(begin, group[0]?.task?.end ?? ratable.limit(), periodSeconds);
      if (members.length === 0 || behind === 0) return;
      const periods = Math.min(batchPeriods, behind);
      // A duration, not a time of day: measured on the monotonic timer.
      const t0 = performance.now();
      let batch: Map<Member, DataFrame[]>;
      try {
        batch = await collectAndRate.batch(members, begin, periods);
      } catch (err) {
        failures.fail(
          members.map((m) => m.ownership),
          err,
          begin,
        );
        return;
      }
      const ready = [...batch.keys()];
      const committed = await mapLimit(ready, ready.length, (m) => committer.commit(m, batch.get(m) as DataFrame[]));
      members = ready.filter((_, i) => committed[i]);
      const seconds = (performance.now() - t0) / 1000;
      this.ctx.telemetry.batchSeconds.observe(seconds);
      const end = addSeconds(begin, periods * periodSeconds);
      for (const m of members) this.ctx.progressLog.report(m.ownership.scopeId, end, Math.max(0, behind - periods), periods, seconds);
      // Only what storage accepted: a scope that stopped (refused, failed) has its own line.
      if (members.length === 0) return;
      deps.logger.debug(
        {
          scopes: members.map((m) => m.ownership.scopeId),
          from: begin.toISOString(),
          periods,
          periods_behind: Math.max(0, behind - periods),
          duration_ms: Math.round(performance.now() - t0),
        },
        "periods rated",
      );
      begin = addSeconds(begin, periods * periodSeconds);
    }
  }
}
