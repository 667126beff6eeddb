/** What the parts of the processor share. */
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import type { CollectorTelemetry } from "../telemetry.js";
import type { FailurePolicy } from "./failure-policy.js";
import type { ProcessorDeps, ProcessorOptions } from "./options.js";
import type { ProgressBoard } from "./progress.js";
import type { ProgressLog } from "./progress-log.js";
import type { RatablePeriods } from "./ratable.js";
import type { UnpricedLedger } from "./unpriced.js";

/** How the processor tells its parts to wind down (see Processor.stop). */
export interface StopSignals {
  /** Aborted when no new work may start. */
  stopping: AbortSignal;
  /** Aborted to abandon the work in progress (end of the shutdown grace): nothing more is committed. */
  abandon: AbortSignal;
}

export interface ProcessorContext {
  opts: ProcessorOptions;
  deps: ProcessorDeps;
  /** Where each scope stands. */
  board: ProgressBoard;
  failures: FailurePolicy;
  /** Which periods may be rated now. */
  ratable: RatablePeriods;
  signals: StopSignals;
  telemetry: CollectorTelemetry;
  /** The info lines of catch-up progress, one per scope at a bounded rate. */
  progressLog: ProgressLog;
  /** The points each rated frame has that no rule priced, until its commit; their warnings. */
  unpriced: UnpricedLedger;
  /**
   * Frames whose prices depended on their month-to-date quantity (Rate's
   * month_dependent): re-rating one makes its task re-rate the rest of the
   * billing month (CommitPeriodRequest rerate_rest_of_month).
   */
  monthDependent: WeakSet<DataFrame>;
}
