/**
 * The fenced commits of a unit: each rated period goes to storage in one
 * call that stores its points and moves the scope's state from the period's
 * begin to its end, carrying the state expected and the ownership's fencing
 * token.
 *
 * Invariant: a period becomes rated only through that call, so it is rated
 * once. On each partial failure:
 *  - storage refuses (FAILED_PRECONDITION: the state moved, a newer
 *    owner's token, a clock ahead of storage's): nothing was written, and
 *    storage recorded the refusal on the scope; it shows in GetStatus too,
 *    and the scope is read again after a wait (doubling while the
 *    refusals go on), from the state storage has;
 *  - the reply is lost: the unit stops and records the failure; the same
 *    request sent again is recognized by storage and acknowledged without
 *    writing twice;
 *  - the ownership is lost or the shutdown grace ends: nothing more is sent,
 *    the next owner goes on from the state storage has.
 */
import { status as grpcStatus } from "@grpc/grpc-js";
import { errorMessage } from "../../../libs/errors/errors.js";
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { isCode } from "../../../libs/grpc/status.js";
import type { ProcessorContext } from "./context.js";
import type { Member } from "./progress.js";

export class PeriodCommitter {
  constructor(private readonly ctx: ProcessorContext) {}

  /** Commits the member's frames in order; false when the member must stop. */
  async commit(m: Member, frames: DataFrame[]): Promise<boolean> {
    const { opts, deps, failures, signals } = this.ctx;
    const { ownership } = m;
    const p = this.ctx.board.of(ownership.scopeId);
    for (const frame of frames) {
      // Shutting down finishes the period being committed, never starts one after the grace.
      if (ownership.signal.aborted || signals.abandon.aborted) return false;
      try {
        const res = await deps.storage.commitPeriod(
          {
            frame,
            expectedState: m.state,
            fencingToken: ownership.token.toString(),
            fencingEpoch: ownership.epoch.toString(),
            owner: deps.coordinator.memberId,
            reprocessTaskId: m.task?.taskId ?? "",
            scopeKey: opts.scopeKey,
            fetcher: opts.fetcherName,
            collector: opts.collectorName,
            unpricedPoints: String(this.ctx.unpriced.count(frame)),
            ...(m.task !== undefined && this.ctx.monthDependent.has(frame) && { rerateRestOfMonth: true }),
          },
          {
            signal: ownership.signal,
            attributes: {
              "ratemesh.scope_id": ownership.scopeId,
              "ratemesh.period.begin": frame.begin?.toISOString() ?? "",
              "ratemesh.points": frame.points.length,
            },
          },
        );
        this.ctx.telemetry.periodsCommitted.inc();
        // One line per accepted commit: the audit trail of who rated what.
        deps.logger.debug(
          {
            scope_id: ownership.scopeId,
            begin: frame.begin?.toISOString(),
            token: ownership.token.toString(),
            replayed: res.replayed,
            points: frame.points.length,
          },
          "period committed",
        );
      } catch (err) {
        if (isCode(err, grpcStatus.FAILED_PRECONDITION)) {
          deps.logger.warn({ scope_id: ownership.scopeId, err: errorMessage(err) }, "commit refused; the scope will be read again");
          if (m.task === undefined) p.state = undefined;
          failures.refused(ownership.scopeId, err);
          return false;
        }
        if (ownership.signal.aborted) return false;
        failures.fail([ownership], err, frame.begin);
        return false;
      }
      m.state = frame.end;
      p.unpricedPoints += this.ctx.unpriced.count(frame);
      this.ctx.unpriced.committed(ownership.scopeId, frame);
      if (m.task === undefined) {
        p.state = frame.end;
        p.periodsBehind = Math.max(0, p.periodsBehind - 1);
      }
      failures.succeeded(ownership.scopeId);
    }
    return true;
  }
}
