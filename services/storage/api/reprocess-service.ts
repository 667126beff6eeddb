/** ReprocessService: reprocessing tasks, created over the rated window of their scopes. */
import { InvalidArgumentError } from "../../../libs/errors/errors.js";
import type { ReprocessServiceService, ReprocessTask } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { decodePageToken, pageSize, requireAligned, requireDate, requireText } from "../../../libs/validation/fields.js";
import type { TaskCursor, TaskRecord } from "../domain.js";
import { pageOf, type StorageApiDeps, selection } from "./requests.js";

function toTaskMessage(t: TaskRecord): ReprocessTask {
  return { ...t, periodsTotal: String(t.periodsTotal), periodsDone: String(t.periodsDone) };
}

function isTaskCursor(v: unknown): v is { c: number; t: string } {
  const c = v as { c?: unknown; t?: unknown };
  return Number.isSafeInteger(c.c) && typeof c.t === "string";
}

export function reprocessHandlers(deps: StorageApiDeps): Partial<Handlers<typeof ReprocessServiceService>> {
  const { engine, clock, periodSeconds } = deps;
  return {
    async createTask(req, ctx) {
      const scopes = selection(req.scopeIds, req.allScopes);
      const begin = requireAligned(requireDate(req.begin, "begin"), periodSeconds, "begin");
      const end = requireAligned(requireDate(req.end, "end"), periodSeconds, "end");
      if (end.getTime() <= begin.getTime()) throw new InvalidArgumentError("end", `must be after begin (${begin.toISOString()})`);
      const reason = requireText(req.reason, "reason");
      const tasks = await engine.createTasks({ scopes, begin, end, reason, actor: ctx.caller.display }, clock.now());
      return { tasks: tasks.map(toTaskMessage) };
    },

    async listTasks(req) {
      const limit = pageSize(req.pageSize, "page_size", 100, 10000);
      const token = decodePageToken(req.pageToken, "page_token", isTaskCursor);
      const after: TaskCursor | undefined = token === undefined ? undefined : { createdAt: token.c, taskId: token.t };
      const tasks = await engine.listTasks({
        scopeIds: req.scopeIds,
        unfinishedOnly: req.unfinishedOnly,
        ascending: req.ascending,
        limit: limit + 1,
        after,
      });
      const { page, nextPageToken } = pageOf(tasks, limit, (last) => ({ c: last.createdAt.getTime(), t: last.taskId }));
      return { tasks: page.map(toTaskMessage), nextPageToken };
    },
  };
}
