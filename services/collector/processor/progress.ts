/**
 * Where each scope stands, as this process last saw it (what GetStatus
 * shows), and what a unit holds of a scope while it works on it.
 */
import type { Ownership } from "../../../libs/coordination/coordinator.js";

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
  /** Points stored with no price rule in force: storage's count when last read, plus what was committed since. */
  unpricedPoints: number;
}

/**
 * A scope being worked on: its ownership and where it stands, as storage
 * has it. For a reprocessing task, `state` is the task's progress.
 */
export interface Member {
  ownership: Ownership;
  state: Date | undefined;
  task?: { taskId: string; end: Date };
}

/** The progress of every scope seen, by scope id. */
export class ProgressBoard {
  private readonly byScope = new Map<string, ScopeProgress>();

  /** The scope's progress, created (never rated, nothing known) on first sight. */
  of(scopeId: string): ScopeProgress {
    let p = this.byScope.get(scopeId);
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
        unpricedPoints: 0,
      };
      this.byScope.set(scopeId, p);
    }
    return p;
  }

  /** Marks the scope as being worked on under the ownership's token. */
  busy(scopeId: string, token: bigint, taskId?: string): ScopeProgress {
    const p = this.of(scopeId);
    p.busy = true;
    p.token = token;
    if (taskId !== undefined) p.taskId = taskId;
    return p;
  }

  /** The unit working on the scope is done with it. */
  idle(scopeId: string): void {
    const p = this.of(scopeId);
    p.busy = false;
    p.taskId = undefined;
  }

  /** The scopes kept, by scope id. */
  list(keep: (p: ScopeProgress) => boolean): ScopeProgress[] {
    return [...this.byScope.values()].filter(keep).sort((a, b) => a.scopeId.localeCompare(b.scopeId));
  }
}
