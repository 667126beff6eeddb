/**
 * The scheduler: a loop that, every tick or when woken (a member joined or
 * left, a unit finished), lists the scopes now and then, and gives the free
 * worker slots ([orchestrator] max_workers) to the scopes this member should
 * own that have periods to rate, the furthest behind first, grouped in units
 * of scopes at the same point in time; the slots left go to reprocessing
 * tasks. Times ("is it time to list the scopes again", backoff, liveness)
 * are read from the injected clock; only the waits are real timers.
 */
import { shuffle } from "../../../libs/async/limit.js";
import { errorMessage } from "../../../libs/errors/errors.js";
import { withSpan } from "../../../libs/tracing/tracing.js";
import type { CatchUp } from "./catch-up.js";
import type { ProcessorContext } from "./context.js";
import { withDeadline } from "./deadline.js";
import type { ProcessorDeps, ProcessorOptions } from "./options.js";
import type { Reprocessing, TaskInfo } from "./reprocessing.js";

export class Scheduler {
  private readonly inFlight = new Set<string>();
  private readonly units = new Set<Promise<void>>();
  private scopeList: string[] = [];
  /** Epoch ms on the clock; 0: never. */
  private lastFetch = 0;
  /** Unfinished reprocessing tasks, as of the last refresh. */
  private tasks: TaskInfo[] = [];
  private lastTaskRefresh = 0;
  private lastLoopAt: number;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  private readonly opts: ProcessorOptions;
  private readonly deps: ProcessorDeps;

  constructor(
    private readonly ctx: ProcessorContext,
    private readonly catchUp: CatchUp,
    private readonly reprocessing: Reprocessing,
  ) {
    this.opts = ctx.opts;
    this.deps = ctx.deps;
    this.lastLoopAt = this.now();
  }

  start(): void {
    this.loop = this.run();
  }

  get scopesDiscovered(): number {
    return this.scopeList.length;
  }

  /** The loop and every unit in flight, to wait for at shutdown. */
  work(): Promise<void>[] {
    return [...(this.loop === undefined ? [] : [this.loop]), ...this.units];
  }

  /**
   * False when the loop has not come round for much longer than it ever
   * should: the coordinator then gives this process's scopes up.
   */
  healthy(): boolean {
    const limit = (this.opts.tickSeconds * 3 + this.opts.collectTimeoutSeconds + 30) * 1000;
    return this.ctx.signals.stopping.aborted || this.now() - this.lastLoopAt < limit;
  }

  wake(): void {
    this.wakeUp?.();
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  private async run(): Promise<void> {
    while (!this.ctx.signals.stopping.aborted) {
      this.lastLoopAt = this.now();
      try {
        await this.schedule();
      } catch (err) {
        this.deps.logger.error({ err: errorMessage(err) }, "scheduling failed; trying again at the next tick");
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.tickSeconds * 1000);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async refreshScopes(): Promise<void> {
    const { stopping } = this.ctx.signals;
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(this.opts.collectTimeoutSeconds * 1000)]);
    const listed = await withDeadline(
      this.deps.fetcher.listScopes(signal),
      this.opts.collectTimeoutSeconds,
      "listing scopes",
      new AbortController(),
    );
    this.scopeList = [...new Set(listed)];
    this.lastFetch = this.now();
    // States as storage has them, in pages: a hint for scheduling only; a
    // unit reads the state again once it owns the scope.
    const wanted = new Set(this.scopeList);
    for (let i = 0; i < this.scopeList.length; i += 1000) {
      const ids = this.scopeList.slice(i, i + 1000);
      const { scopes } = await this.deps.scopes.listScopes({
        scopeIds: ids,
        scopeKey: "",
        fetcher: "",
        collector: "",
        pageSize: 1000,
        pageToken: "",
      });
      for (const s of scopes) {
        if (!wanted.has(s.scopeId)) continue;
        const p = this.ctx.board.of(s.scopeId);
        if (!p.busy) {
          p.state = s.state;
          p.active = s.active;
        }
      }
    }
    this.deps.logger.debug({ scopes: this.scopeList.length }, "scopes listed");
  }

  private async schedule(): Promise<void> {
    const { coordinator } = this.deps;
    const { board, failures, ratable, signals } = this.ctx;
    if (!coordinator.leaseHeld()) return;
    if (this.now() - this.lastFetch >= this.opts.scopeRefreshSeconds * 1000) await this.refreshScopes();
    const free = this.opts.maxWorkers - this.inFlight.size;
    if (free <= 0 || signals.stopping.aborted) return;

    const limit = ratable.limit();
    const now = this.deps.clock.now();
    const byBegin = new Map<number, string[]>();
    for (const scopeId of shuffle([...this.scopeList])) {
      if (this.inFlight.has(scopeId) || failures.waiting(scopeId, now)) continue;
      const p = board.of(scopeId);
      p.periodsBehind = ratable.behind(p.state, limit);
      if (!p.active || p.periodsBehind === 0 || !coordinator.shouldOwn(scopeId)) continue;
      const begin = ratable.firstBegin(p.state).getTime();
      const group = byBegin.get(begin);
      if (group === undefined) byBegin.set(begin, [scopeId]);
      else group.push(scopeId);
    }
    // Oldest first: the scopes furthest behind get the slots.
    let slots = free;
    for (const begin of [...byBegin.keys()].sort((a, b) => a - b)) {
      const group = byBegin.get(begin) as string[];
      for (let i = 0; i < group.length && slots > 0; i += this.opts.batchScopes) {
        const unit = group.slice(i, i + Math.min(this.opts.batchScopes, slots));
        slots -= unit.length;
        this.launch(unit);
      }
      if (slots <= 0) break;
    }
    // Reprocessing takes the slots regular rating leaves, one task per scope
    // at a time. The task list is read once per tick at most: a wake-up
    // (a member leaving, say) must not wait for storage before taking scopes.
    if (slots <= 0) return;
    if (this.now() - this.lastTaskRefresh >= this.opts.tickSeconds * 1000) {
      this.lastTaskRefresh = this.now();
      this.tasks = await this.reprocessing.unfinished();
    }
    for (const task of this.tasks) {
      if (slots <= 0) break;
      const { scopeId } = task;
      if (this.inFlight.has(scopeId) || failures.waiting(scopeId, now) || !coordinator.shouldOwn(scopeId)) continue;
      slots--;
      this.launch([scopeId], task);
    }
  }

  private launch(scopeIds: string[], task?: TaskInfo): void {
    for (const s of scopeIds) this.inFlight.add(s);
    // One unit of work, one trace: its spans in every service share it.
    const attributes = {
      "ratemesh.scope_ids": scopeIds,
      "ratemesh.scopes": scopeIds.length,
      ...(task && { "ratemesh.task_id": task.taskId }),
    };
    const work = withSpan(task === undefined ? "catch-up" : "reprocess", { attributes, root: true }, () =>
      task === undefined ? this.catchUp.unit(scopeIds) : this.reprocessing.run(task),
    );
    const unit = work
      .catch((err: unknown) => this.deps.logger.error({ err: errorMessage(err), scopes: scopeIds }, "unit failed"))
      .finally(() => {
        for (const s of scopeIds) {
          this.inFlight.delete(s);
          this.ctx.board.idle(s);
        }
        this.units.delete(unit);
        this.wake();
      });
    this.units.add(unit);
  }
}
