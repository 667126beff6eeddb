/**
 * The info lines of a catch-up, at a bounded rate: for a scope that is
 * still behind after a batch, one `catch-up progress` line at most every
 * PROGRESS_INTERVAL_MS, and one `scope caught up` line at the end if a
 * progress line was written. A scope that catches up in one batch (steady
 * state: one period whenever a period ends) writes nothing at info; the
 * per-batch `periods rated` line and the per-commit lines are at debug.
 */
import type { Logger } from "../../../libs/logging/logger.js";

export const PROGRESS_INTERVAL_MS = 30_000;

export class ProgressLog {
  /** Scope -> when its last progress line was written (monotonic ms); only scopes still catching up. */
  private readonly last = new Map<string, { at: number; periods: number; seconds: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  /** A batch of `periods` periods was committed for the scope, which is now at `state`, `behind` periods behind. */
  report(scopeId: string, state: Date, behind: number, periods: number, seconds: number): void {
    const now = performance.now();
    const prev = this.last.get(scopeId);
    if (prev === undefined) {
      if (behind === 0) return;
      this.line(scopeId, state, behind, periods, seconds, "catch-up progress");
      this.last.set(scopeId, { at: now, periods: 0, seconds: 0 });
      return;
    }
    prev.periods += periods;
    prev.seconds += seconds;
    if (behind === 0) {
      this.line(scopeId, state, behind, prev.periods, prev.seconds, "scope caught up");
      this.last.delete(scopeId);
    } else if (now - prev.at >= this.intervalMs) {
      this.line(scopeId, state, behind, prev.periods, prev.seconds, "catch-up progress");
      this.last.set(scopeId, { at: now, periods: 0, seconds: 0 });
    }
  }

  private line(scopeId: string, state: Date, behind: number, periods: number, seconds: number, msg: string): void {
    this.logger.info(
      {
        scope_id: scopeId,
        state: state.toISOString(),
        periods_behind: behind,
        periods_rated: periods,
        periods_per_second: seconds > 0 ? Math.round((periods / seconds) * 10) / 10 : undefined,
      },
      msg,
    );
  }
}
