/**
 * What a failure on a scope does: it is recorded on the scope (here, for
 * GetStatus, and in storage), the scope is left alone for a backoff (1 s,
 * doubling, up to 5 min), and after STEP_BACK_AFTER failures in a row this
 * process steps back so that the next member in rendezvous order may try.
 * Backoff is counted on the injected clock.
 */
import type { Ownership } from "../../../libs/coordination/coordinator.js";
import { DeadlineExceededError, errorMessage } from "../../../libs/errors/errors.js";
import { RemoteCallError } from "../../../libs/grpc/status.js";
import { failureReason } from "../telemetry.js";
import type { ProcessorDeps } from "./options.js";
import type { ProgressBoard } from "./progress.js";

const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** Consecutive failures after which this process steps back from a scope. */
export const STEP_BACK_AFTER = 3;
/** How long a scope whose commit was refused waits before it is read again (doubling while refusals go on). */
const AFTER_REFUSAL_MS = 1000;

interface Backoff {
  failures: number;
  /** Commits refused in a row. */
  refusals?: number;
  /** Epoch ms, on the injected clock. */
  until: number;
}

export type FailureDeps = Pick<ProcessorDeps, "scopes" | "coordinator" | "clock" | "logger" | "telemetry">;

export class FailurePolicy {
  private readonly backoff = new Map<string, Backoff>();

  constructor(
    private readonly deps: FailureDeps,
    private readonly board: ProgressBoard,
  ) {}

  /** Whether the scope is still waiting out a backoff at `now` (default: the clock's now). */
  waiting(scopeId: string, now: Date = this.deps.clock.now()): boolean {
    return (this.backoff.get(scopeId)?.until ?? 0) > now.getTime();
  }

  /** Records a failure on each scope (here and in storage) and backs off; steps back after repeated ones. */
  fail(ownerships: Ownership[], err: unknown, periodBegin: Date | undefined): void {
    const message = errorMessage(err);
    const now = this.deps.clock.now();
    for (const o of ownerships) {
      if (o.signal.aborted && !(err instanceof DeadlineExceededError)) continue;
      const p = this.board.of(o.scopeId);
      const failures = (this.backoff.get(o.scopeId)?.failures ?? 0) + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      const until = now.getTime() + delay;
      this.backoff.set(o.scopeId, { failures, until });
      p.lastError = message;
      p.lastErrorAt = now;
      this.deps.telemetry?.failures[failureReason(err)].inc();
      this.deps.logger.error(
        { scope_id: o.scopeId, period: periodBegin?.toISOString(), err: message, failures, retry_in_ms: delay },
        "processing failed; will retry",
      );
      this.deps.scopes
        // Storage keeps error messages short ([limits] max_text_length): the start of a long one says enough.
        .recordScopeError({
          scopeId: o.scopeId,
          message: message.slice(0, 1000),
          periodBegin,
          fencingToken: o.token.toString(),
          fencingEpoch: o.epoch.toString(),
        })
        .catch((recordErr: unknown) =>
          this.deps.logger.warn({ scope_id: o.scopeId, err: errorMessage(recordErr) }, "could not record the error on the scope"),
        );
      if (failures >= STEP_BACK_AFTER) {
        void this.deps.coordinator.stepBack(o.scopeId, new Date(until));
      }
    }
  }

  /**
   * A commit was refused (the state moved, a newer owner, a clock ahead):
   * not a failure of this process, and storage has recorded it on the
   * scope; shown here too, and the scope is read again after a wait that
   * doubles while the refusals go on (a refusal that lasts is no busy loop).
   */
  refused(scopeId: string, err: unknown): void {
    this.deps.telemetry?.commitsRefused.inc();
    const now = this.deps.clock.now();
    const refusals = (this.backoff.get(scopeId)?.refusals ?? 0) + 1;
    const p = this.board.of(scopeId);
    p.lastError = `commit refused: ${err instanceof RemoteCallError ? err.details : errorMessage(err)}`;
    p.lastErrorAt = now;
    const delay = Math.min(MAX_BACKOFF_MS, AFTER_REFUSAL_MS * 2 ** (refusals - 1));
    this.backoff.set(scopeId, { failures: 0, refusals, until: now.getTime() + delay });
  }

  /** A period was committed: the scope's error and backoff are cleared. */
  succeeded(scopeId: string): void {
    const p = this.board.of(scopeId);
    p.lastError = undefined;
    p.lastErrorAt = undefined;
    this.backoff.delete(scopeId);
  }
}
