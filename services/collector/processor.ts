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
 * Work is done in units: up to [collect] batch_scopes scopes that are at the
 * same point in time, collected [collect] batch_periods periods at a time
 * (one request to the source per metric where the collector can batch),
 * then rated and committed period by period. [orchestrator] max_workers
 * bounds the scopes in progress. Each batch has a deadline; a failure is
 * recorded on the scope and retried with backoff, and after repeated
 * failures this process steps back so that another member may try.
 */
import { status as grpcStatus } from "@grpc/grpc-js";
import { mapLimit, shuffle, sleep } from "../../libs/async/limit.js";
import type { Coordinator, Ownership } from "../../libs/coordination/coordinator.js";
import { DeadlineExceededError, errorMessage } from "../../libs/errors/errors.js";
import type { DataFrame, DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import type { RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import type { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../libs/grpc/client.js";
import { isCode } from "../../libs/grpc/status.js";
import type { Logger } from "../../libs/logging/logger.js";
import { addSeconds, type Clock, monthStart, periodsBetween, ratableUntil } from "../../libs/time/period.js";
import { type Collector, collectBatch, toDataPoint } from "./collectors/collector.js";
import type { Fetcher } from "./fetchers/fetcher.js";
import type { MetricConfig } from "./metrics.js";

export interface ProcessorOptions {
  periodSeconds: number;
  waitPeriods: number;
  /** Where a never rated scope starts; undefined: the start of the current month. */
  start: Date | undefined;
  /** Periods ending after this are not rated; undefined: no end. */
  end: Date | undefined;
  maxWorkers: number;
  maxThreads: number;
  batchPeriods: number;
  batchScopes: number;
  scopeKey: string;
  collectorName: string;
  fetcherName: string;
  /** How often the scheduler looks for work when nothing wakes it. */
  tickSeconds: number;
  /** How often the fetcher lists the scopes. */
  scopeRefreshSeconds: number;
  /** Deadline of collecting one batch. */
  collectTimeoutSeconds: number;
}

export interface ProcessorDeps {
  fetcher: Fetcher;
  collector: Collector;
  metrics: MetricConfig[];
  coordinator: Coordinator;
  storage: Client<typeof StorageServiceService>;
  scopes: Client<typeof ScopeServiceService>;
  reprocess: Client<typeof ReprocessServiceService>;
  rating: Client<typeof RatingServiceService>;
  clock: Clock;
  logger: Logger;
}

export interface ScopeProgress {
  scopeId: string;
  /** End of the last committed period, as last seen. */
  state: Date | undefined;
  active: boolean;
  periodsBehind: number;
  token: bigint | undefined;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  busy: boolean;
  /** The reprocessing task being worked on, if any. */
  taskId: string | undefined;
}

interface Backoff {
  failures: number;
  until: number;
}

/**
 * A scope being worked on: its ownership and where it stands, as storage
 * has it. For a reprocessing task, `state` is the task's progress.
 */
interface Member {
  ownership: Ownership;
  state: Date | undefined;
  task?: { taskId: string; end: Date };
}

interface TaskInfo {
  taskId: string;
  scopeId: string;
  end: Date;
  progress: Date;
}

const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** Consecutive failures after which this process steps back from a scope. */
const STEP_BACK_AFTER = 3;
/** Points per Rate call: frames of a batch are rated together up to this. */
const RATE_CHUNK_POINTS = 50_000;

export class Processor {
  private readonly progress = new Map<string, ScopeProgress>();
  private readonly backoff = new Map<string, Backoff>();
  private readonly inFlight = new Set<string>();
  private readonly units = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  /** Aborted to abandon the work in progress (end of the shutdown grace). */
  private readonly abandon = new AbortController();
  private scopeList: string[] = [];
  private lastFetch = 0;
  /** Unfinished reprocessing tasks, as of the last refresh. */
  private tasks: TaskInfo[] = [];
  private lastTaskRefresh = 0;
  private lastLoopAt = Date.now();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly opts: ProcessorOptions,
    private readonly deps: ProcessorDeps,
  ) {
    deps.coordinator.onChange(() => this.wake());
  }

  start(): void {
    this.loop = this.run();
  }

  get scopesDiscovered(): number {
    return this.scopeList.length;
  }

  /**
   * False when the scheduling loop has not come round for much longer than
   * it ever should: the coordinator then gives this process's scopes up.
   */
  healthy(): boolean {
    const limit = (this.opts.tickSeconds * 3 + this.opts.collectTimeoutSeconds + 30) * 1000;
    return this.stopping.signal.aborted || Date.now() - this.lastLoopAt < limit;
  }

  /**
   * Stops taking work. Units finish the period they are committing for up
   * to graceSeconds; then the rest is abandoned (nothing more is
   * committed), and every ownership is released.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping.abort();
    this.wake();
    const all = Promise.allSettled([this.loop, ...this.units]);
    await Promise.race([all, sleep(graceSeconds * 1000)]);
    this.abandon.abort(new Error("shutting down"));
    await Promise.race([all, sleep(2000)]);
    await this.deps.coordinator.stop();
  }

  /** The scopes this process owns or should own, with their progress. */
  status(): ScopeProgress[] {
    return [...this.progress.values()]
      .filter((p) => p.busy || this.deps.coordinator.shouldOwn(p.scopeId))
      .sort((a, b) => a.scopeId.localeCompare(b.scopeId));
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      this.lastLoopAt = Date.now();
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

  private progressOf(scopeId: string): ScopeProgress {
    let p = this.progress.get(scopeId);
    if (p === undefined) {
      p = {
        scopeId,
        state: undefined,
        active: true,
        periodsBehind: 0,
        token: undefined,
        lastError: undefined,
        lastErrorAt: undefined,
        busy: false,
        taskId: undefined,
      };
      this.progress.set(scopeId, p);
    }
    return p;
  }

  /** The end of the last period that may be rated now. */
  private limit(): Date {
    const byTime = ratableUntil(this.deps.clock.now(), this.opts.periodSeconds, this.opts.waitPeriods);
    return this.opts.end !== undefined && this.opts.end.getTime() < byTime.getTime() ? this.opts.end : byTime;
  }

  private firstBegin(state: Date | undefined): Date {
    return state ?? this.opts.start ?? monthStart(this.deps.clock.now());
  }

  private async refreshScopes(): Promise<void> {
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.opts.collectTimeoutSeconds * 1000)]);
    const listed = await withDeadline(
      this.deps.fetcher.listScopes(signal),
      this.opts.collectTimeoutSeconds,
      "listing scopes",
      new AbortController(),
    );
    this.scopeList = [...new Set(listed)];
    this.lastFetch = Date.now();
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
        const p = this.progressOf(s.scopeId);
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
    if (!coordinator.leaseHeld()) return;
    if (Date.now() - this.lastFetch >= this.opts.scopeRefreshSeconds * 1000) await this.refreshScopes();
    const free = this.opts.maxWorkers - this.inFlight.size;
    if (free <= 0 || this.stopping.signal.aborted) return;

    const limit = this.limit().getTime();
    const now = Date.now();
    const byBegin = new Map<number, string[]>();
    for (const scopeId of shuffle([...this.scopeList])) {
      if (this.inFlight.has(scopeId) || (this.backoff.get(scopeId)?.until ?? 0) > now) continue;
      const p = this.progressOf(scopeId);
      p.periodsBehind = periodsBetween(this.firstBegin(p.state), new Date(limit), this.opts.periodSeconds);
      if (!p.active || p.periodsBehind === 0 || !coordinator.shouldOwn(scopeId)) continue;
      const begin = this.firstBegin(p.state).getTime();
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
    if (Date.now() - this.lastTaskRefresh >= this.opts.tickSeconds * 1000) {
      this.lastTaskRefresh = Date.now();
      await this.refreshTasks();
    }
    for (const task of this.tasks) {
      if (slots <= 0) break;
      const { scopeId } = task;
      if (this.inFlight.has(scopeId) || (this.backoff.get(scopeId)?.until ?? 0) > now || !coordinator.shouldOwn(scopeId)) continue;
      slots--;
      this.launch([scopeId], task);
    }
  }

  private async refreshTasks(): Promise<void> {
    const tasks: TaskInfo[] = [];
    let pageToken = "";
    do {
      const page = await this.deps.reprocess.listTasks({ scopeIds: [], unfinishedOnly: true, ascending: true, pageSize: 1000, pageToken });
      for (const t of page.tasks) {
        if (t.end === undefined || t.progress === undefined) continue;
        tasks.push({ taskId: t.taskId, scopeId: t.scopeId, end: t.end, progress: t.progress });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    // One task per scope at a time, the oldest first.
    const first = new Map<string, TaskInfo>();
    for (const t of tasks) if (!first.has(t.scopeId)) first.set(t.scopeId, t);
    this.tasks = [...first.values()];
  }

  private launch(scopeIds: string[], task?: TaskInfo): void {
    for (const s of scopeIds) this.inFlight.add(s);
    const unit = (task === undefined ? this.runUnit(scopeIds) : this.runTask(task))
      .catch((err: unknown) => this.deps.logger.error({ err: errorMessage(err), scopes: scopeIds }, "unit failed"))
      .finally(() => {
        for (const s of scopeIds) {
          this.inFlight.delete(s);
          const p = this.progressOf(s);
          p.busy = false;
          p.taskId = undefined;
        }
        this.units.delete(unit);
        this.wake();
      });
    this.units.add(unit);
  }

  private async runUnit(scopeIds: string[]): Promise<void> {
    const { coordinator, logger } = this.deps;
    const owned = (await Promise.all(scopeIds.map((s) => coordinator.acquire(s).catch(() => undefined)))).filter(
      (o): o is Ownership => o !== undefined,
    );
    if (owned.length > 0) {
      logger.debug({ scopes: owned.map((o) => o.scopeId), fencing_tokens: owned.map((o) => o.token.toString()) }, "scopes acquired");
    }
    try {
      const members: Member[] = [];
      for (const o of owned) {
        const p = this.progressOf(o.scopeId);
        p.busy = true;
        p.token = o.token;
        try {
          const { scope } = await this.deps.scopes.getScope({ scopeId: o.scopeId }, { signal: o.signal });
          p.state = scope?.state;
          p.active = scope?.active ?? true;
        } catch (err) {
          if (!isCode(err, grpcStatus.NOT_FOUND)) {
            this.fail([o], err, undefined);
            continue;
          }
          p.state = undefined;
        }
        if (p.active) members.push({ ownership: o, state: p.state });
      }
      // Scopes read at different states than the hint go in their own groups.
      const groups = new Map<number, Member[]>();
      for (const m of members) {
        const key = this.firstBegin(m.state).getTime();
        groups.set(key, [...(groups.get(key) ?? []), m]);
      }
      for (const group of groups.values()) await this.catchUp(group);
    } catch (err) {
      logger.error({ err: errorMessage(err), scopes: scopeIds }, "unit failed");
    } finally {
      await Promise.all(owned.map((o) => coordinator.release(o)));
    }
  }

  /**
   * Works on a reprocessing task: its periods are rated again from its
   * progress to its end and replace what was stored, one fenced commit each
   * (storage advances the task's progress in the same transaction).
   */
  private async runTask(task: TaskInfo): Promise<void> {
    const { coordinator, logger } = this.deps;
    const ownership = await coordinator.acquire(task.scopeId).catch(() => undefined);
    if (ownership === undefined) return;
    try {
      const p = this.progressOf(task.scopeId);
      p.busy = true;
      p.token = ownership.token;
      p.taskId = task.taskId;
      // The progress as storage has it now: another member may have moved it.
      const { tasks } = await this.deps.reprocess.listTasks(
        { scopeIds: [task.scopeId], unfinishedOnly: true, ascending: true, pageSize: 100, pageToken: "" },
        { signal: ownership.signal },
      );
      const current = tasks.find((t) => t.taskId === task.taskId);
      if (current?.progress === undefined || current.end === undefined) return;
      logger.info(
        { scope_id: task.scopeId, task_id: task.taskId, from: current.progress.toISOString(), to: current.end.toISOString() },
        "reprocessing",
      );
      await this.catchUp([{ ownership, state: current.progress, task: { taskId: task.taskId, end: current.end } }]);
    } catch (err) {
      this.fail([ownership], err, task.progress);
    } finally {
      await coordinator.release(ownership);
    }
  }

  /** Rates every ratable period of the group's scopes, batch by batch, until none is left. */
  private async catchUp(group: Member[]): Promise<void> {
    const { periodSeconds, batchPeriods } = this.opts;
    let members = group;
    let begin = this.firstBegin(group[0]?.state);
    while (members.length > 0 && !this.stopping.signal.aborted) {
      // Rebalanced away, or ownership lost: stop here; the next owner goes on.
      members = members.filter((m) => !m.ownership.signal.aborted && this.deps.coordinator.shouldOwn(m.ownership.scopeId));
      // A reprocessing task ends at its window's end; regular rating at what may be rated now.
      const behind = periodsBetween(begin, group[0]?.task?.end ?? this.limit(), periodSeconds);
      if (members.length === 0 || behind === 0) return;
      const periods = Math.min(batchPeriods, behind);
      const t0 = performance.now();
      let batch: Map<Member, DataFrame[]>;
      try {
        batch = await this.collectAndRate(members, begin, periods);
      } catch (err) {
        this.fail(
          members.map((m) => m.ownership),
          err,
          begin,
        );
        return;
      }
      const ready = [...batch.keys()];
      const committed = await mapLimit(ready, ready.length, (m) => this.commitPeriods(m, batch.get(m) as DataFrame[]));
      members = ready.filter((_, i) => committed[i]);
      this.deps.logger.info(
        {
          scopes: ready.map((m) => m.ownership.scopeId),
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

  /**
   * Collects every metric for the members over `periods` periods from
   * `begin`, under one deadline: one batch request per metric where the
   * collector can batch, else one per scope and period. Then rates the
   * frames. Returns the rated frames (in period order) of every member
   * whose collection succeeded; a member whose collection failed is
   * recorded as failed and left out, the others go on.
   */
  private async collectAndRate(members: Member[], begin: Date, periods: number): Promise<Map<Member, DataFrame[]>> {
    const { collector, metrics } = this.deps;
    const { periodSeconds, collectTimeoutSeconds, maxThreads } = this.opts;
    const end = addSeconds(begin, periods * periodSeconds);
    const cancel = new AbortController();
    const signal = AbortSignal.any([cancel.signal, this.abandon.signal]);
    const byScope = new Map(members.map((m) => [m.ownership.scopeId, m]));
    const failed = new Map<string, Error>();
    // points[scope][period begin ms]
    const points = new Map<string, Map<number, DataPoint[]>>();
    const collect = mapLimit(metrics, maxThreads, async (metric) => {
      const result = await collectBatch(
        collector,
        { metric, scopeIds: [...byScope.keys()], begin, end, periodSeconds, signal },
        Math.max(1, Math.floor(maxThreads / metrics.length)),
      );
      for (const [scopeId, err] of result.errors) if (!failed.has(scopeId)) failed.set(scopeId, err);
      for (const [scopeId, byPeriod] of result.measures) {
        let mine = points.get(scopeId);
        if (mine === undefined) {
          mine = new Map();
          points.set(scopeId, mine);
        }
        for (const [t, raw] of byPeriod) {
          const list = mine.get(t) ?? [];
          for (const r of raw) list.push(toDataPoint(metric, r));
          mine.set(t, list);
        }
      }
    });
    await withDeadline(
      collect,
      collectTimeoutSeconds,
      `collecting ${periods} period(s) from ${begin.toISOString()}`,
      cancel,
      this.abandon.signal,
    );

    for (const [scopeId, err] of failed) this.fail([(byScope.get(scopeId) as Member).ownership], err, begin);
    const frames = new Map<Member, DataFrame[]>();
    for (const m of members) {
      const scopeId = m.ownership.scopeId;
      if (failed.has(scopeId)) continue;
      frames.set(
        m,
        Array.from({ length: periods }, (_, pi) => {
          const b = addSeconds(begin, pi * periodSeconds);
          return { scopeId, begin: b, end: addSeconds(b, periodSeconds), points: points.get(scopeId)?.get(b.getTime()) ?? [] };
        }),
      );
    }
    await this.rate([...frames.values()].flat());
    return frames;
  }

  /** Rates frames in place, several per call, up to RATE_CHUNK_POINTS points a call. */
  private async rate(frames: DataFrame[]): Promise<void> {
    const pending = frames.filter((f) => f.points.length > 0);
    let i = 0;
    while (i < pending.length) {
      const chunk: DataFrame[] = [];
      let n = 0;
      while (i < pending.length && (chunk.length === 0 || n + (pending[i] as DataFrame).points.length <= RATE_CHUNK_POINTS)) {
        const f = pending[i++] as DataFrame;
        chunk.push(f);
        n += f.points.length;
      }
      const res = await this.deps.rating.rate({ frames: chunk }, { signal: this.abandon.signal });
      chunk.forEach((f, j) => {
        const rated = res.frames[j];
        if (rated === undefined || rated.points.length !== f.points.length) {
          throw new Error(`rating returned ${rated?.points.length ?? 0} points for ${f.points.length} (scope ${f.scopeId})`);
        }
        f.points = rated.points;
      });
    }
  }

  /** Commits the member's frames in order; false when the member must stop. */
  private async commitPeriods(m: Member, frames: DataFrame[]): Promise<boolean> {
    const { ownership } = m;
    const p = this.progressOf(ownership.scopeId);
    for (const frame of frames) {
      // Shutting down finishes the period being committed, never starts one after the grace.
      if (ownership.signal.aborted || this.abandon.signal.aborted) return false;
      try {
        const res = await this.deps.storage.commitPeriod(
          {
            frame,
            expectedState: m.state,
            fencingToken: ownership.token.toString(),
            owner: this.deps.coordinator.memberId,
            reprocessTaskId: m.task?.taskId ?? "",
            scopeKey: this.opts.scopeKey,
            fetcher: this.opts.fetcherName,
            collector: this.opts.collectorName,
          },
          { signal: ownership.signal },
        );
        // One line per accepted commit: the audit trail of who rated what.
        this.deps.logger.debug(
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
          this.deps.logger.warn({ scope_id: ownership.scopeId, err: errorMessage(err) }, "commit refused; the scope will be read again");
          if (m.task === undefined) p.state = undefined;
          this.backoff.set(ownership.scopeId, { failures: 0, until: Date.now() + 1000 });
          return false;
        }
        if (ownership.signal.aborted) return false;
        this.fail([ownership], err, frame.begin);
        return false;
      }
      m.state = frame.end;
      if (m.task === undefined) {
        p.state = frame.end;
        p.periodsBehind = Math.max(0, p.periodsBehind - 1);
      }
      p.lastError = undefined;
      p.lastErrorAt = undefined;
      this.backoff.delete(ownership.scopeId);
    }
    return true;
  }

  /** Records a failure on each scope (here and in storage) and backs off; steps back after repeated ones. */
  private fail(ownerships: Ownership[], err: unknown, periodBegin: Date | undefined): void {
    const message = errorMessage(err);
    const now = Date.now();
    for (const o of ownerships) {
      if (o.signal.aborted && !(err instanceof DeadlineExceededError)) continue;
      const p = this.progressOf(o.scopeId);
      const failures = (this.backoff.get(o.scopeId)?.failures ?? 0) + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      this.backoff.set(o.scopeId, { failures, until: now + delay });
      p.lastError = message;
      p.lastErrorAt = this.deps.clock.now();
      this.deps.logger.error(
        { scope_id: o.scopeId, period: periodBegin?.toISOString(), err: message, failures, retry_in_ms: delay },
        "processing failed; will retry",
      );
      this.deps.scopes
        .recordScopeError({ scopeId: o.scopeId, message, periodBegin, fencingToken: o.token.toString() })
        .catch((recordErr: unknown) =>
          this.deps.logger.warn({ scope_id: o.scopeId, err: errorMessage(recordErr) }, "could not record the error on the scope"),
        );
      if (failures >= STEP_BACK_AFTER) {
        void this.deps.coordinator.stepBack(o.scopeId, new Date(now + delay));
      }
    }
  }
}

/**
 * Resolves as the promise does, or rejects at the deadline (aborting
 * `cancel`, which the work listens to) even if the promise never settles: a
 * hung source cannot stall the processor. `signal` abandons it early.
 */
function withDeadline<T>(promise: Promise<T>, seconds: number, what: string, cancel: AbortController, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new DeadlineExceededError(`${what}: no answer within ${seconds} s`);
      cancel.abort(err);
      reject(err);
    }, seconds * 1000);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new DeadlineExceededError(`${what}: abandoned`));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
