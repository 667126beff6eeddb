/** What the parts of the processor share. */
import type { CollectorTelemetry } from "../telemetry.js";
import type { FailurePolicy } from "./failure-policy.js";
import type { ProcessorDeps, ProcessorOptions } from "./options.js";
import type { ProgressBoard } from "./progress.js";
import type { ProgressLog } from "./progress-log.js";
import type { RatablePeriods } from "./ratable.js";

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
}
