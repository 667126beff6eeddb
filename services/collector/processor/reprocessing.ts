/**
 * Reprocessing tasks (ReprocessService): the owner of a task's scope rates
 * the task's window again, from its progress to its end; each period
 * replaces what was stored, one fenced commit each (storage advances the
 * task's progress in the same transaction).
 */

import type { CatchUp } from "./catch-up.js";
import type { ProcessorContext } from "./context.js";

export interface TaskInfo {
  taskId: string;
  scopeId: string;
  end: Date;
  progress: Date;
}

export class Reprocessing {
  constructor(
    private readonly ctx: ProcessorContext,
    private readonly catchUp: CatchUp,
  ) {}

  /** The unfinished tasks, one per scope at a time, the oldest first. */
  async unfinished(): Promise<TaskInfo[]> {
    const tasks: TaskInfo[] = [];
    let pageToken = "";
    do {
      const page = await this.ctx.deps.reprocess.listTasks({
        scopeIds: [],
        unfinishedOnly: true,
        ascending: true,
        pageSize: 1000,
        pageToken,
      });
      for (const t of page.tasks) {
        if (t.end === undefined || t.progress === undefined) continue;
        tasks.push({ taskId: t.taskId, scopeId: t.scopeId, end: t.end, progress: t.progress });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    const first = new Map<string, TaskInfo>();
    for (const t of tasks) if (!first.has(t.scopeId)) first.set(t.scopeId, t);
    return [...first.values()];
  }

  /** Works on a task: its periods are rated again from its progress to its end. */
  async run(task: TaskInfo): Promise<void> {
    const { deps, board, failures } = this.ctx;
    const { coordinator, logger } = deps;
    const ownership = await coordinator.acquire(task.scopeId).catch(() => undefined);
    if (ownership === undefined) return;
    try {
      board.busy(task.scopeId, ownership.token, task.taskId);
      // The progress as storage has it now: another member may have moved it.
      const { tasks } = await deps.reprocess.listTasks(
        { scopeIds: [task.scopeId], unfinishedOnly: true, ascending: true, pageSize: 100, pageToken: "" },
        { signal: ownership.signal },
      );
      const current = tasks.find((t) => t.taskId === task.taskId);
      if (current?.progress === undefined || current.end === undefined) return;
      logger.info(
        { scope_id: task.scopeId, task_id: task.taskId, from: current.progress.toISOString(), to: current.end.toISOString() },
        "reprocessing",
      );
      await this.catchUp.group([{ ownership, state: current.progress, task: { taskId: task.taskId, end: current.end } }]);
    } catch (err) {
      failures.fail([ownership], err, task.progress);
    } finally {
      await coordinator.release(ownership);
    }
  }
}
