/**
 * The processor: every finished period of every scope this process should
 * own is collected, rated and committed to storage, in order, each period in
 * one fenced commit.
 *
 * Exactly once: a period becomes rated only by the storage transaction that
 * moves its scope's state from the period's begin to its end, and that
 * transaction refuses a stale state or a stale fencing token. So:
 *  - a crash before the commit leaves the period to be done again (by this
 *    process or the next owner), a crash after it leaves it done;
 *  - two processes that both believe they own a scope (a frozen process
 *    coming back) cannot both commit a period: the state check lets only
 *    one through, and a newer owner's token shuts the older one out;
 *  - a lost reply is retried with the same request, which storage
 *    recognizes and acknowledges without writing twice.
 *
 * This class builds the parts and runs their lifecycle; each part is in
 * processor/ (PROCESSOR.md says which owns what):
 *  - scheduler.ts: the loop, the scope list, worker slots given to units;
 *  - catch-up.ts: one unit's catch-up (ownership, state, batches), with
 *    collect-and-rate.ts (one batch) and commit.ts (the fenced commits);
 *  - reprocessing.ts: reprocessing tasks;
 *  - failure-policy.ts: backoff, step back, the error recorded on the scope;
 *  - ratable.ts: which periods may be rated now, on the injected clock;
 *  - progress.ts: where each scope stands (GetStatus).
 */
import { sleep } from "../../libs/async/limit.js";
import { Registry } from "../../libs/metrics/metrics.js";
import { CatchUp } from "./processor/catch-up.js";
import type { ProcessorContext } from "./processor/context.js";
import { FailurePolicy } from "./processor/failure-policy.js";
import type { ProcessorDeps, ProcessorOptions } from "./processor/options.js";
import { ProgressBoard, type ScopeProgress } from "./processor/progress.js";
import { ProgressLog } from "./processor/progress-log.js";
import { RatablePeriods } from "./processor/ratable.js";
import { Reprocessing } from "./processor/reprocessing.js";
import { Scheduler } from "./processor/scheduler.js";
import { UnpricedLedger } from "./processor/unpriced.js";
import { CollectorTelemetry } from "./telemetry.js";

export type { ProcessorDeps, ProcessorOptions } from "./processor/options.js";
export type { ScopeProgress } from "./processor/progress.js";

export class Processor {
  private readonly board = new ProgressBoard();
  private readonly stopping = new AbortController();
  /** Aborted to abandon the work in progress (end of the shutdown grace). */
  private readonly abandon = new AbortController();
  private readonly scheduler: Scheduler;

  constructor(
    opts: ProcessorOptions,
    private readonly deps: ProcessorDeps,
  ) {
    const telemetry = deps.telemetry ?? new CollectorTelemetry(new Registry(), opts.periodSeconds);
    const ctx: ProcessorContext = {
      opts,
      deps,
      board: this.board,
      failures: new FailurePolicy({ ...deps, telemetry }, this.board),
      ratable: new RatablePeriods(opts, deps.clock),
      signals: { stopping: this.stopping.signal, abandon: this.abandon.signal },
      telemetry,
      progressLog: new ProgressLog(deps.logger),
      unpriced: new UnpricedLedger(deps.logger),
      monthDependent: new WeakSet(),
    };
    const catchUp = new CatchUp(ctx);
    this.scheduler = new Scheduler(ctx, catchUp, new Reprocessing(ctx, catchUp));
    deps.coordinator.onChange(() => this.scheduler.wake());
  }

  start(): void {
    this.scheduler.start();
  }

  get scopesDiscovered(): number {
    return this.scheduler.scopesDiscovered;
  }

  /**
   * False when the scheduling loop has not come round for much longer than
   * it ever should: the coordinator then gives this process's scopes up.
   */
  healthy(): boolean {
    return this.scheduler.healthy();
  }

  /**
   * Stops taking work. Units finish the period they are committing for up
   * to graceSeconds; then the rest is abandoned (nothing more is
   * committed), and every ownership is released.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping.abort();
    this.scheduler.wake();
    const all = Promise.allSettled(this.scheduler.work());
    await Promise.race([all, sleep(graceSeconds * 1000)]);
    this.abandon.abort(new Error("shutting down"));
    await Promise.race([all, sleep(2000)]);
    await this.deps.coordinator.stop();
  }

  /** The scopes this process owns or should own, with their progress. */
  status(): ScopeProgress[] {
    return this.board.list((p) => p.busy || this.deps.coordinator.shouldOwn(p.scopeId));
  }
}
