/**
 * Which periods may be rated now: as in CloudKitty, a period [b, e) is
 * rated once b + wait_periods × period < now, and never before it has ended
 * (e <= now: the deviation from CloudKitty with wait_periods = 0); with
 * [collect] end, e <= end too. "Now" is the injected clock's, so lateness
 * and catch-up are testable.
 */
import { type Clock, monthStart, periodsBetween, ratableUntil } from "../../../libs/time/period.js";
import type { ProcessorOptions } from "./options.js";

export type RatableOptions = Pick<ProcessorOptions, "periodSeconds" | "waitPeriods" | "start" | "end">;

export class RatablePeriods {
  constructor(
    private readonly opts: RatableOptions,
    private readonly clock: Clock,
  ) {}

  /** The end of the last period that may be rated now. */
  limit(): Date {
    const byTime = ratableUntil(this.clock.now(), this.opts.periodSeconds, this.opts.waitPeriods);
    return this.opts.end !== undefined && this.opts.end.getTime() < byTime.getTime() ? this.opts.end : byTime;
  }

  /** Where a scope's next period begins: at its state, else [collect] start, else the current month's start. */
  firstBegin(state: Date | undefined): Date {
    return state ?? this.opts.start ?? monthStart(this.clock.now());
  }

  /** The periods a scope at `state` has to rate up to `until` (by default, what may be rated now). */
  behind(state: Date | undefined, until: Date = this.limit()): number {
    return periodsBetween(this.firstBegin(state), until, this.opts.periodSeconds);
  }
}
