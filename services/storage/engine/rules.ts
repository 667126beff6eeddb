/**
 * The decisions behind "a period is rated once: never twice, never
 * skipped". The commit (commit.ts) and the scope and task writes read the
 * rows involved inside their transaction (with the scope row locked), ask
 * these functions what to do, then write. All times are epoch seconds.
 */
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../libs/errors/errors.js";
import { addSeconds, fromEpochSeconds, ratableUntil } from "../../../libs/time/period.js";

/**
 * A fencing record: a coordinator epoch and a token within it. Records are
 * ordered by epoch, then by token: a coordinator that starts anew (etcd
 * wiped or rebuilt, a move from the embedded coordinator) has a newer
 * epoch, so its tokens win whatever their value, and every owner of an
 * older epoch is refused. Epoch 0 is a committer that knows no epochs.
 */
export interface Fence {
  epoch: bigint;
  token: bigint;
}

export const NO_FENCE: Fence = { epoch: 0n, token: 0n };

/** Negative, zero or positive as a is older than, equal to or newer than b. */
export function compareFences(a: Fence, b: Fence): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return a.token === b.token ? 0 : a.token < b.token ? -1 : 1;
}

/** Refuses a request whose fence is older than the newest one seen for the scope. */
export function checkFence(scopeId: string, req: Fence, seen: Fence): void {
  if (compareFences(req, seen) >= 0) return;
  throw new StaleTokenError(
    req.epoch === seen.epoch
      ? `fencing token ${req.token} is older than ${seen.token}, already seen for scope ${scopeId} (epoch ${seen.epoch}): another owner has taken it over`
      : `fencing token ${req.token} of epoch ${req.epoch} is older than token ${seen.token} of epoch ${seen.epoch}, already seen for scope ${scopeId}: its coordinator's epoch has passed`,
  );
}

export interface ScopeState {
  /** End of the last rated period; null when never rated. */
  state: number | null;
  active: boolean;
  /** Newest fencing record seen for the scope. */
  fence: Fence;
}

/** What is recorded about the commit that last wrote a (scope, period). */
export interface FrameState {
  fencingToken: bigint;
  digest: string;
  taskId: string | null;
}

export interface TaskState {
  taskId: string;
  scopeId: string;
  begin: number;
  end: number;
  progress: number;
  finished: boolean;
}

export interface CommitRequest {
  scopeId: string;
  begin: number;
  end: number;
  expected: number | null;
  fence: Fence;
  digest: string;
  taskId: string | undefined;
  /** The latest period end storage's clock allows (latestCommittable); null: not checked. */
  notAfter: number | null;
}

export type CommitDecision = "apply" | "replay";

function show(s: number | null): string {
  return s === null ? "no state (never rated)" : fromEpochSeconds(s).toISOString();
}

/** A commit refused because a newer owner's fencing token was already seen for the scope. */
export class StaleTokenError extends FailedPreconditionError {}

/** A commit refused because the scope's state (or the task's progress) is not the one it expected. */
export class StateMovedError extends FailedPreconditionError {}

/** Whether the period was last written by this very commit (same task, digest and token): a retry after a lost reply. */
function wroteThis(frame: FrameState | undefined, req: CommitRequest, taskId: string | null): boolean {
  return frame !== undefined && frame.taskId === taskId && frame.digest === req.digest && frame.fencingToken === req.fence.token;
}

/**
 * The latest period end a commit may have at `now` on storage's own clock:
 * what a committer whose clock is right may rate (the collector's rule,
 * `ratableUntil`: a period [b, b + period) once b + wait_periods × period < now, and not before its end),
 * with `toleranceSeconds` of slack for clocks that differ a little. A
 * committer whose clock runs further ahead would rate periods that are
 * not finished (their late usage never billed) or still to come.
 */
export function latestCommittable(now: Date, periodSeconds: number, waitPeriods: number, toleranceSeconds: number): Date {
  return ratableUntil(addSeconds(now, toleranceSeconds), periodSeconds, waitPeriods);
}

function checkNotAhead(req: CommitRequest): void {
  if (req.notAfter === null || req.end <= req.notAfter) return;
  throw new FailedPreconditionError(
    `clock skew: the period [${show(req.begin)}, ${show(req.end)}) of scope ${req.scopeId} is not finished by storage's clock, which lets periods be rated up to ${show(req.notAfter)} now (wait_periods and [storage] clock_skew_tolerance included): the committer's clock is ahead`,
  );
}

/**
 * A regular commit: rates the period that follows the scope's state.
 *
 * Order matters. The token comes first, so a stale owner is refused even
 * when its commit looks like a replay (the new owner decides what happens
 * next). A replay is recognised before the state check, because after a
 * lost reply the state has already moved to this commit's end (the digest
 * covers the fencing epoch, so a replay is of the same epoch too). A period
 * that storage's clock does not let be rated yet is refused next. Only then
 * is the expected state compared: if another owner advanced it, or a reset
 * moved it back while this commit was in flight, nothing is written.
 */
export function decideCommit(req: CommitRequest, scope: ScopeState | undefined, frame: FrameState | undefined): CommitDecision {
  checkFence(req.scopeId, req.fence, scope?.fence ?? NO_FENCE);
  if (scope !== undefined && scope.state === req.end && wroteThis(frame, req, null)) return "replay";
  checkNotAhead(req);
  const current = scope?.state ?? null;
  if (current !== req.expected) {
    throw new StateMovedError(
      `state of scope ${req.scopeId} moved: the commit expected ${show(req.expected)}, the scope is at ${show(current)}`,
    );
  }
  if (scope !== undefined && !scope.active) {
    throw new FailedPreconditionError(`scope ${req.scopeId} is inactive: its periods are not rated`);
  }
  return "apply";
}

/**
 * A reprocessing commit: replaces the period that follows the task's
 * progress. The scope's state does not move. The same fencing token as
 * regular commits guards it: the owner of the scope is the only writer of
 * its periods, whichever kind.
 */
export function decideReprocessCommit(
  req: CommitRequest,
  scope: ScopeState | undefined,
  task: TaskState | undefined,
  frame: FrameState | undefined,
): CommitDecision {
  const taskId = req.taskId ?? "";
  if (task === undefined) throw new NotFoundError("reprocess task", taskId);
  if (task.scopeId !== req.scopeId) {
    throw new InvalidArgumentError("reprocess_task_id", `task ${taskId} reprocesses scope ${task.scopeId}, not ${req.scopeId}`);
  }
  if (scope === undefined) throw new NotFoundError("scope", req.scopeId);
  checkFence(req.scopeId, req.fence, scope.fence);
  if (task.progress === req.end && wroteThis(frame, req, taskId)) return "replay";
  if (task.finished) throw new FailedPreconditionError(`reprocess task ${taskId} is finished (progress ${show(task.progress)})`);
  if (req.expected !== task.progress) {
    throw new StateMovedError(
      `progress of reprocess task ${taskId} moved: the commit expected ${show(req.expected)}, the task is at ${show(task.progress)}`,
    );
  }
  if (req.end > task.end) {
    throw new FailedPreconditionError(`the period ends after reprocess task ${taskId}'s window (${show(task.end)})`);
  }
  if (!scope.active) throw new FailedPreconditionError(`scope ${req.scopeId} is inactive: its periods are not rated`);
  // Reachable only if a task's window were not clipped by a reset: a period
  // at or after the state belongs to regular rating.
  if (scope.state === null || req.end > scope.state) {
    throw new FailedPreconditionError(`the period ends after the state of scope ${req.scopeId} (${show(scope.state)})`);
  }
  return "apply";
}

/** A start may be set on a scope never rated (or set again to the same value), never moved: ResetScope does that. */
export function checkStart(scopeId: string, scope: ScopeState, start: number): void {
  if (scope.state === null || scope.state === start) return;
  throw new FailedPreconditionError(
    `scope ${scopeId} is at ${show(scope.state)}: its start is fixed once, by its first state (ResetScope moves a state back)`,
  );
}

/** Whether scope may be reset to `to`; throws for an explicitly named scope that may not. */
export function checkReset(scopeId: string, scope: ScopeState, to: number, explicit: boolean): boolean {
  if (scope.state === null) {
    if (explicit) throw new FailedPreconditionError(`scope ${scopeId} was never rated: there is no state to move back`);
    return false;
  }
  if (scope.state < to) {
    if (explicit) {
      throw new FailedPreconditionError(
        `scope ${scopeId} is at ${show(scope.state)}: a reset moves the state back, not forward to ${show(to)}`,
      );
    }
    return false;
  }
  return true;
}

/**
 * What a reset to `to` leaves of an unfinished task of the scope: the
 * periods from `to` on are rated again by regular rating (and replaced), so
 * the task keeps only what lies before `to`, and ends if nothing is left.
 */
export function clipTask(task: { progress: number; end: number }, to: number): { end: number; finished: boolean } {
  const end = Math.min(task.end, Math.max(task.progress, to));
  return { end, finished: task.progress >= end };
}

/** Whether scope can get a reprocessing task over [begin, end); throws for a named scope that cannot. */
export function checkTaskScope(scopeId: string, scope: ScopeState, end: number, explicit: boolean): boolean {
  if (!scope.active) {
    if (explicit) throw new FailedPreconditionError(`scope ${scopeId} is inactive: activate it before reprocessing it`);
    return false;
  }
  if (scope.state === null || scope.state < end) {
    if (explicit) {
      throw new FailedPreconditionError(
        `scope ${scopeId} is rated up to ${show(scope.state)}: a reprocessing window must end at or before its state`,
      );
    }
    return false;
  }
  return true;
}

export function checkNoOverlap(
  scopeId: string,
  begin: number,
  end: number,
  open: Array<{ taskId: string; begin: number; end: number }>,
): void {
  for (const t of open) {
    if (t.begin < end && begin < t.end) {
      throw new FailedPreconditionError(
        `scope ${scopeId} already has an unfinished reprocess task ${t.taskId} over [${show(t.begin)}, ${show(t.end)})`,
      );
    }
  }
}
