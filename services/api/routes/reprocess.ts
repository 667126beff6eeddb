/**
 * /v2/task/reprocesses: reprocessing tasks over storage's ReprocessService.
 *
 * CloudKitty's window [start_reprocess_time, end_reprocess_time] names
 * period BEGINS and includes the period that starts at the end; ratemesh's
 * task window is half-open [begin, end). So start → begin and end → end +
 * period, and a task is shown back the same way (its progress, the end of
 * the last period done, as the begin of that period; "" before the first).
 * CloudKitty deletes only [start, end) before rating start…end again, so
 * the period at `end` is stored twice; ratemesh replaces every period of
 * the window.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CreateTaskRequest, ListTasksRequest, type ReprocessTask } from "../../../libs/gen/ratemesh/v1/storage.js";
import { addSeconds } from "../../../libs/time/period.js";
import { badRequest } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { window } from "../paging.js";
import { multi, type PagedQuery, pagedQuerySchema, single, stringList, timestamp } from "../query.js";
import { sendJson } from "../reply.js";
import { naiveIso } from "../time.js";
import type { Caller } from "../upstream.js";

const ALL = "ALL";
const TASK_PAGE = 1000;

/**
 * A task as CloudKitty shows it: the window it was created with (a task
 * that goes on to the end of its billing month for tiered prices still
 * shows the end it was given, and its progress stops there).
 */
function taskOut(t: ReprocessTask, periodSeconds: number) {
  const begin = t.begin ?? new Date(0);
  const end = t.requestedEnd ?? t.end ?? new Date(0);
  const progress = t.progress === undefined || t.progress.getTime() <= end.getTime() ? t.progress : end;
  return {
    scope_id: t.scopeId,
    reason: t.reason,
    start_reprocess_time: naiveIso(begin),
    end_reprocess_time: naiveIso(addSeconds(end, -periodSeconds)),
    current_reprocess_time:
      progress === undefined || progress.getTime() <= begin.getTime() ? "" : naiveIso(addSeconds(progress, -periodSeconds)),
  };
}

interface TasksQuery extends PagedQuery {
  scope_ids?: string[];
  order?: string[];
}

export function registerReprocess(app: FastifyInstance, gw: Gateway): void {
  const period = gw.periodSeconds;

  const create = async (body: Record<string, unknown>, caller: Caller) => {
    const ids = Array.isArray(body.scope_ids)
      ? multi(body.scope_ids.map(String))
      : multi(body.scope_ids === undefined ? [] : [String(body.scope_ids)]);
    if (ids.length === 0) throw badRequest("Invalid data: required key not provided (path: '['scope_ids']')");
    if (ids.includes(ALL) && ids.length !== 1) {
      throw badRequest(
        `Cannot use 'ALL' with scope ID [${ids.join(", ")}]. Either schedule a reprocessing for all active scopes using 'ALL' option, ` +
          "or inform only the scopes you desire to schedule a reprocessing.",
      );
    }
    const start = timestamp(body.start_reprocess_time, "start_reprocess_time");
    const end = timestamp(body.end_reprocess_time, "end_reprocess_time");
    if (start === undefined) throw badRequest("Invalid data: required key not provided (path: '['start_reprocess_time']')");
    if (end === undefined) throw badRequest("Invalid data: required key not provided (path: '['end_reprocess_time']')");
    const reason = typeof body.reason === "string" ? body.reason : "";
    if (reason.trim() === "") {
      throw badRequest(
        "Empty or blank reason text is not allowed. Please, do inform/register the reason for the reprocessing of a previously processed timestamp.",
      );
    }
    if (end.getTime() < start.getTime()) {
      throw badRequest(
        `End reprocessing timestamp [${naiveIso(end)}] cannot be less than start reprocessing timestamp [${naiveIso(start)}].`,
      );
    }
    const all = ids[0] === ALL;
    await gw.services.reprocess.createTask(
      CreateTaskRequest.fromPartial({ scopeIds: all ? [] : ids, allScopes: all, begin: start, end: addSeconds(end, period), reason }),
      caller,
    );
  };

  const createRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body !== null && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
    await create(body, callerOf(gw, request));
    return sendJson(reply, 202, {});
  };
  const createSchema = {
    body: {
      type: "object",
      required: ["scope_ids", "start_reprocess_time", "end_reprocess_time", "reason"],
      properties: {
        scope_ids: stringList,
        start_reprocess_time: { type: "string" },
        end_reprocess_time: { type: "string" },
        reason: { type: "string" },
      },
    },
  } as const;
  app.post("/v2/task/reprocesses", { schema: createSchema }, createRoute);
  // python-cloudkittyclient 4.x posts to the singular path, which CloudKitty never served.
  app.post("/v2/task/reprocess", { schema: createSchema }, createRoute);

  const tasksSchema = pagedQuerySchema("scope_ids", "order");

  const list = async (q: TasksQuery, scopeIds: string[], caller: Caller) => {
    // Case-insensitive: python-cloudkittyclient 4.x sends "DESC".
    const order = (single(q.order, "order") ?? "desc").toLowerCase();
    if (order !== "asc" && order !== "desc") {
      throw badRequest(`The order [${order}] is not valid. Accepted values are ['asc', 'desc'].`);
    }
    const base = ListTasksRequest.fromPartial({ scopeIds, ascending: order === "asc" });
    const tasks = await window(
      async (pageToken, pageSize) => {
        const res = await gw.services.reprocess.listTasks({ ...base, pageToken, pageSize }, caller);
        return { items: res.tasks, next: res.nextPageToken };
      },
      q.offset,
      q.limit,
      TASK_PAGE,
    );
    return { results: tasks.map((t) => taskOut(t, period)) };
  };

  app.get<{ Querystring: TasksQuery }>("/v2/task/reprocesses", { schema: tasksSchema }, async (request, reply) =>
    sendJson(reply, 200, await list(request.query, multi(request.query.scope_ids), callerOf(gw, request))),
  );
  app.get<{ Querystring: TasksQuery; Params: { scope_id: string } }>(
    "/v2/task/reprocesses/:scope_id",
    { schema: tasksSchema },
    async (request, reply) => sendJson(reply, 200, await list(request.query, [request.params.scope_id], callerOf(gw, request))),
  );
}
