/**
 * The gateway's HTTP application in process, over fake services: the one
 * mapping from gRPC errors to CloudKitty's codes and bodies, the auth
 * strategy, and the translations between CloudKitty's and ratemesh's views
 * of scopes, reprocessing windows and summaries.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import type { RatingModule } from "../../libs/gen/ratemesh/v1/rating.js";
import type {
  AddDataFramesRequest,
  CreateTaskRequest,
  ListTasksRequest,
  ReprocessTask,
  ResetScopeRequest,
  Scope,
  SummaryRequest,
} from "../../libs/gen/ratemesh/v1/storage.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { silentLogger } from "../../libs/logging/logger.js";
import { buildApp } from "./app.js";
import type { AuthStrategy, Services } from "./gateway.js";
import { Readiness } from "./readiness.js";
import type { Caller } from "./upstream.js";

const PERIOD = 3600;
const MODULES: RatingModule[] = [
  { name: "hashmap", description: "HashMap rating module.", enabled: true, priority: 3 },
  { name: "noop", description: "Dummy module.", enabled: true, priority: 1 },
];

type Fakes = { [S in keyof Services]?: Partial<Record<keyof Services[S], (req: never, caller: Caller) => Promise<unknown>>> };

/** Services whose methods are the given fakes; any other call fails the test. */
function services(fakes: Fakes): Services {
  const out: Record<string, unknown> = {};
  for (const name of ["storage", "scopes", "reprocess", "rating", "hashmap", "collector"] as const) {
    const given = (fakes[name] ?? {}) as Record<string, unknown>;
    out[name] = new Proxy(given, {
      get: (target, method: string) =>
        target[method] ??
        (() => {
          throw new Error(`unexpected call ${name}.${method}`);
        }),
    });
  }
  return out as unknown as Services;
}

async function app(
  fakes: Fakes,
  opts: { auth?: AuthStrategy; ready?: Record<string, boolean> } = {},
): Promise<{ app: FastifyInstance; readiness: Readiness }> {
  const ready = opts.ready ?? { storage: true, rating: true, collector: true };
  const readiness = new Readiness(
    Object.entries(ready).map(([name, ok]) => ({ name, required: name !== "collector", serving: async () => ok })),
    silentLogger(),
  );
  await readiness.watch(60);
  const a = buildApp(
    {
      services: services(fakes),
      periodSeconds: PERIOD,
      clock: { now: () => new Date("2026-12-01T00:00:00Z") },
      authStrategy: opts.auth ?? "noauth",
    },
    { logger: silentLogger(), readiness },
  );
  return { app: a, readiness };
}

/** Without the members that are undefined (generated messages set every optional member). */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

const failing = (code: status, details: string) => async () => {
  throw new RemoteCallError("RatingService/ListModules", code, details);
};

describe("api gateway application", () => {
  it("maps each gRPC status to CloudKitty's HTTP code, in WSME's body on v1 and Flask's on v2", async () => {
    const cases: Array<[status, number]> = [
      [status.INVALID_ARGUMENT, 400],
      [status.FAILED_PRECONDITION, 400],
      [status.NOT_FOUND, 404],
      [status.ALREADY_EXISTS, 409],
      [status.UNAUTHENTICATED, 401],
      [status.PERMISSION_DENIED, 403],
      [status.UNIMPLEMENTED, 501],
      [status.UNAVAILABLE, 503],
      [status.DEADLINE_EXCEEDED, 504],
    ];
    for (const [code, http] of cases) {
      const { app: a } = await app({ rating: { listModules: failing(code, "name: is wrong") } });
      const v1 = await a.inject({ method: "GET", url: "/v1/rating/modules" });
      assert.equal(v1.statusCode, http, `v1 ${status[code]}`);
      const body = v1.json() as { faultcode: string; faultstring: string; debuginfo: null };
      assert.equal(body.faultcode, http < 500 ? "Client" : "Server");
      assert.match(body.faultstring, /name: is wrong/);
      assert.equal(body.debuginfo, null);
      const v2 = await a.inject({ method: "GET", url: "/v2/rating/modules" });
      assert.equal(v2.statusCode, http, `v2 ${status[code]}`);
      assert.deepEqual(Object.keys(v2.json() as object), ["message"]);
      await a.close();
    }
  });

  it("answers 500 with an error id and no detail for an internal failure", async () => {
    for (const thrown of [new RemoteCallError("X/Y", status.INTERNAL, "secret stack"), new Error("secret cause")]) {
      const { app: a } = await app({
        rating: {
          listModules: async () => {
            throw thrown;
          },
        },
      });
      const res = await a.inject({ method: "GET", url: "/v2/rating/modules" });
      assert.equal(res.statusCode, 500);
      const message = (res.json() as { message: string }).message;
      assert.match(message, /^internal error \(id [0-9a-f]{8}\)/);
      assert.doesNotMatch(message, /secret/);
      await a.close();
    }
  });

  it("with keystone, refuses a request without a token (but not the health and root routes) and passes the token on", async () => {
    const seen: Array<string | undefined> = [];
    const listModules = async (_req: never, caller: Caller) => {
      seen.push(caller.token);
      return { modules: MODULES };
    };
    const { app: keystone } = await app({ rating: { listModules } }, { auth: "keystone" });
    const refused = await keystone.inject({ method: "GET", url: "/v1/rating/modules" });
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(refused.json(), {
      error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." },
    });
    for (const url of ["/", "/healthcheck", "/ready"]) {
      assert.equal((await keystone.inject({ method: "GET", url })).statusCode, 200, url);
    }
    const ok = await keystone.inject({ method: "GET", url: "/v1/rating/modules/", headers: { "x-auth-token": "gAAAA-token" } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(seen, ["gAAAA-token"]);
    await keystone.close();

    const { app: noauth } = await app({ rating: { listModules } });
    await noauth.inject({ method: "GET", url: "/v1/rating/modules", headers: { "x-auth-token": "ignored" } });
    assert.deepEqual(seen, ["gAAAA-token", undefined], "noauth passes no token on");
    await noauth.close();
  });

  it("answers 302 to a v1 module update (only what changed is sent) and 204 to a v2 one", async () => {
    const updates: unknown[] = [];
    const { app: a } = await app({
      rating: {
        listModules: async () => ({ modules: MODULES }),
        updateModule: async (req: never) => {
          updates.push(req);
          return {};
        },
      },
    });
    const v1 = await a.inject({
      method: "PUT",
      url: "/v1/rating/modules/hashmap",
      payload: { module_id: "hashmap", description: "HashMap rating module.", enabled: true, "hot-config": true, priority: 7 },
    });
    assert.equal(v1.statusCode, 302);
    assert.match(String(v1.headers.location), /\/v1\/rating\/modules\/hashmap$/);
    assert.deepEqual(plain(updates), [{ name: "hashmap", priority: 7 }]);
    const missingId = await a.inject({ method: "PUT", url: "/v1/rating/modules/hashmap", payload: { enabled: false } });
    assert.equal(missingId.statusCode, 400);
    const v2 = await a.inject({ method: "PUT", url: "/v2/rating/modules/noop", payload: { enabled: false } });
    assert.equal(v2.statusCode, 204);
    assert.deepEqual(plain(updates[1]), { name: "noop", enabled: false });
    const reload = await a.inject({ method: "GET", url: "/v1/rating/reload_modules" });
    assert.equal(reload.statusCode, 204);
    assert.match(String(reload.headers["x-openstack-request-id"]), /^req-[0-9a-f-]{36}$/);
    const unknown = await a.inject({ method: "PUT", url: "/v2/rating/modules/pyscripts", payload: { enabled: true } });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(unknown.json(), { message: "Module 'pyscripts' not found" });
    await a.close();
  });

  it("shows scope states one period back and moves a reset one period forward", async () => {
    const scope: Scope = {
      scopeId: "p1",
      state: new Date("2026-11-01T06:00:00Z"),
      active: true,
      scopeKey: "project_id",
      fetcher: "gnocchi",
      collector: "gnocchi",
      lastError: "",
      fencingToken: "3",
      fencingEpoch: "0",
      unpriced: false,
      unpricedPoints: "0",
      unpricedPeriods: "0",
    };
    const resets: ResetScopeRequest[] = [];
    const { app: a } = await app({
      scopes: {
        listScopes: async (req: never) => {
          const ids = (req as { scopeIds: string[] }).scopeIds;
          const all = [scope, { ...scope, scopeId: "p2", state: undefined, fetcher: "keystone" }];
          return { scopes: all.filter((s) => ids.length === 0 || ids.includes(s.scopeId)), nextPageToken: "" };
        },
        resetScope: async (req: never) => {
          resets.push(req);
          return { scopes: [scope] };
        },
      },
    });
    const got = (await a.inject({ method: "GET", url: "/v2/scope" })).json() as { results: Array<Record<string, unknown>> };
    assert.deepEqual(got.results[0], {
      scope_id: "p1",
      scope_key: "project_id",
      fetcher: "gnocchi",
      collector: "gnocchi",
      state: "2026-11-01T05:00:00",
      last_processed_timestamp: "2026-11-01T05:00:00",
      active: true,
      scope_activation_toggle_date: null,
    });
    assert.equal(got.results[1]?.last_processed_timestamp, null, "a scope never rated has no timestamp");
    // Several fetchers: matched by the gateway over the listing.
    const filtered = (await a.inject({ method: "GET", url: "/v2/scope?fetcher=keystone,prometheus" })).json() as {
      results: Array<{ scope_id: string }>;
    };
    assert.deepEqual(
      filtered.results.map((s) => s.scope_id),
      ["p2"],
    );

    const put = await a.inject({ method: "PUT", url: "/v2/scope", payload: { scope_id: "p1", state: "2026-11-01T02:00:00+00:00" } });
    assert.equal(put.statusCode, 202);
    assert.deepEqual(put.json(), {});
    assert.deepEqual(resets.at(-1)?.scopeIds, ["p1"]);
    assert.equal(resets.at(-1)?.state?.toISOString(), "2026-11-01T03:00:00.000Z");
    await a.inject({ method: "PUT", url: "/v2/scope", payload: { all_scopes: true, last_processed_timestamp: "2026-11-01T00:00:00" } });
    assert.equal(resets.at(-1)?.allScopes, true);
    assert.equal(resets.at(-1)?.state?.toISOString(), "2026-11-01T01:00:00.000Z");

    const noSelector = await a.inject({ method: "PUT", url: "/v2/scope", payload: { state: "2026-11-01T00:00:00" } });
    assert.deepEqual(noSelector.json(), { message: "Either all_scopes or a scope_id should be specified." });
    const noTime = await a.inject({ method: "PUT", url: "/v2/scope", payload: { scope_id: "p1" } });
    assert.equal(noTime.statusCode, 400);
    assert.match((noTime.json() as { message: string }).message, /'state' and 'last_processed_timestamp'/);
    await a.close();
  });

  it("turns CloudKitty's inclusive reprocessing window into a half-open one, and shows tasks back the same way", async () => {
    const created: CreateTaskRequest[] = [];
    const listed: ListTasksRequest[] = [];
    const task = (progress: string): ReprocessTask => ({
      taskId: "t1",
      scopeId: "p1",
      begin: new Date("2026-11-01T01:00:00Z"),
      end: new Date("2026-11-01T04:00:00Z"),
      progress: new Date(progress),
      reason: "fix",
      periodsTotal: "3",
      periodsDone: "0",
    });
    const { app: a } = await app({
      reprocess: {
        createTask: async (req: never) => {
          created.push(req);
          return { tasks: [] };
        },
        listTasks: async (req: never) => {
          listed.push(req);
          return { tasks: [task("2026-11-01T01:00:00Z"), { ...task("2026-11-01T03:00:00Z"), taskId: "t2" }], nextPageToken: "" };
        },
      },
    });
    /** CloudKitty's reprocessing request, posted to `url`. */
    const reprocess = (url: string, scope_ids: string | string[], start: string, end: string, reason: string) =>
      a.inject({ method: "POST", url, payload: { scope_ids, start_reprocess_time: start, end_reprocess_time: end, reason } });
    const post = await reprocess("/v2/task/reprocess", ["p1", "p2"], "2026-11-01T01:00:00+00:00", "2026-11-01T03:00:00+00:00", "fix");
    assert.equal(post.statusCode, 202);
    assert.deepEqual(created[0]?.scopeIds, ["p1", "p2"]);
    assert.equal(created[0]?.begin?.toISOString(), "2026-11-01T01:00:00.000Z");
    assert.equal(created[0]?.end?.toISOString(), "2026-11-01T04:00:00.000Z");
    await reprocess("/v2/task/reprocesses", "ALL", "2026-11-01T01:00:00", "2026-11-01T01:00:00", "one");
    assert.equal(created[1]?.allScopes, true);
    assert.deepEqual(created[1]?.scopeIds, []);
    assert.equal(created[1]?.end?.toISOString(), "2026-11-01T02:00:00.000Z", "start = end: one period");
    const mixed = await reprocess("/v2/task/reprocesses", ["ALL", "p1"], "2026-11-01T01:00:00", "2026-11-01T01:00:00", "x");
    assert.equal(mixed.statusCode, 400);
    const blank = await reprocess("/v2/task/reprocesses", ["p1"], "2026-11-01T01:00:00", "2026-11-01T01:00:00", "  ");
    assert.match((blank.json() as { message: string }).message, /^Empty or blank reason/);
    assert.equal(created.length, 2);

    const got = (await a.inject({ method: "GET", url: "/v2/task/reprocesses?order=ASC&scope_ids=p1" })).json() as {
      results: Array<Record<string, string>>;
    };
    assert.equal(listed[0]?.ascending, true);
    assert.deepEqual(listed[0]?.scopeIds, ["p1"]);
    assert.deepEqual(got.results, [
      {
        scope_id: "p1",
        reason: "fix",
        start_reprocess_time: "2026-11-01T01:00:00",
        end_reprocess_time: "2026-11-01T03:00:00",
        current_reprocess_time: "",
      },
      {
        scope_id: "p1",
        reason: "fix",
        start_reprocess_time: "2026-11-01T01:00:00",
        end_reprocess_time: "2026-11-01T03:00:00",
        current_reprocess_time: "2026-11-01T02:00:00",
      },
    ]);
    const badOrder = await a.inject({ method: "GET", url: "/v2/task/reprocesses?order=sideways" });
    assert.equal(badOrder.statusCode, 400);
    await a.close();
  });

  it("pages a summary by offset and limit over storage's page tokens, sorted as CloudKitty sorts, sums as exact numbers", async () => {
    const asked: SummaryRequest[] = [];
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        values: [`2026-11-01T0${i}:00:00Z`, `2026-11-01T0${i + 1}:00:00Z`, "1", `0.1000000000000000000000000000${i}`, "instance"],
      }));
    const { app: a } = await app({
      storage: {
        summary: async (req: never) => {
          const r = req as SummaryRequest;
          asked.push(r);
          const all = rows(5);
          const from = r.pageToken === "" ? 0 : Number(r.pageToken);
          const page = all.slice(from, from + r.pageSize);
          const next = from + r.pageSize < all.length ? String(from + r.pageSize) : "";
          return { columns: ["begin", "end", "qty", "price", "type"], rows: page, nextPageToken: next, totalRows: "5" };
        },
      },
    });
    const res = await a.inject({
      method: "GET",
      url: "/v2/summary?groupby=time&groupby=type&filters=type:instance,type:image&filters=project_id:p1&offset=2&limit=2",
    });
    assert.equal(res.statusCode, 200);
    assert.equal(
      res.body,
      '{"total":5,"columns":["begin","end","qty","rate","type"],"results":[' +
        '["2026-11-01T02:00:00+00:00","2026-11-01T03:00:00+00:00",1,0.10000000000000000000000000002,"instance"],' +
        '["2026-11-01T03:00:00+00:00","2026-11-01T04:00:00+00:00",1,0.10000000000000000000000000003,"instance"]],"format":"table"}',
    );
    assert.deepEqual(asked[0]?.groupBy, ["time", "type"]);
    assert.deepEqual(asked[0]?.filters, [
      { key: "type", values: ["instance", "image"] },
      { key: "project_id", values: ["p1"] },
    ]);
    assert.deepEqual(asked[0]?.orderBy, [
      { column: "type", descending: false },
      { column: "begin", descending: false },
    ]);
    assert.equal(
      asked.reduce((n, r) => n + r.pageSize, 0),
      4,
      "rows read up to offset + limit, not beyond",
    );

    const empty = await app({
      storage: { summary: async () => ({ columns: ["begin", "end", "qty", "price"], rows: [], nextPageToken: "", totalRows: "0" }) },
    });
    assert.deepEqual((await empty.app.inject({ method: "GET", url: "/v2/summary" })).json(), {
      total: 0,
      columns: [],
      results: [],
      format: "table",
    });
    await empty.app.close();
    await a.close();
  });

  it("reports readiness from the services it needs, and 503 on /healthcheck once stopping", async () => {
    const { app: down, readiness: r1 } = await app({}, { ready: { storage: true, rating: false, collector: true } });
    const notReady = await down.inject({ method: "GET", url: "/ready" });
    assert.equal(notReady.statusCode, 503);
    assert.deepEqual(notReady.json(), {
      ready: false,
      stopping: false,
      services: { storage: "SERVING", rating: "NOT_SERVING", collector: "SERVING" },
    });
    r1.stop();
    await down.close();

    const { app: up, readiness: r2 } = await app({}, { ready: { storage: true, rating: true, collector: false } });
    assert.equal((await up.inject({ method: "GET", url: "/ready" })).statusCode, 200, "the collector is not required");
    assert.equal((await up.inject({ method: "GET", url: "/healthcheck" })).body, "OK");
    r2.stop();
    const stopping = await up.inject({ method: "GET", url: "/healthcheck" });
    assert.equal(stopping.statusCode, 503);
    assert.equal((await up.inject({ method: "GET", url: "/ready" })).statusCode, 503);
    await up.close();
  });

  it("words a body that fails its schema as WSME does, naming the attribute", async () => {
    const { app: a } = await app({});
    const url = "/v1/rating/module_config/hashmap/mappings";
    const noCost = await a.inject({ method: "POST", url, payload: { service_id: "s1", type: "flat" } });
    assert.equal(noCost.statusCode, 400);
    assert.deepEqual(noCost.json(), {
      faultcode: "Client",
      faultstring: "Invalid input for field/attribute cost. Value: 'None'. Mandatory field missing.",
      debuginfo: null,
    });
    const badType = await a.inject({ method: "POST", url, payload: { service_id: "s1", cost: 1, type: "percent" } });
    assert.equal(badType.statusCode, 400);
    assert.match((badType.json() as { faultstring: string }).faultstring, /^Invalid input for field\/attribute type: .*flat, rate/);
    const noName = await a.inject({ method: "POST", url: "/v1/rating/module_config/hashmap/fields", payload: { service_id: "s1" } });
    assert.match((noName.json() as { faultstring: string }).faultstring, /field\/attribute name\. Value: 'None'\. Mandatory field missing/);
    const noReason = await a.inject({ method: "POST", url: "/v2/task/reprocesses", payload: { scope_ids: "ALL" } });
    assert.equal(noReason.statusCode, 400);
    assert.deepEqual(Object.keys(noReason.json() as object), ["message"]);
    await a.close();
  });

  it("takes the last value of a repeated v1 query parameter, as WSME", async () => {
    const asked: string[] = [];
    const { app: a } = await app({
      hashmap: {
        listFields: async (req: never) => {
          asked.push((req as { serviceId: string }).serviceId);
          return { fields: [], nextPageToken: "" };
        },
      },
    });
    const res = await a.inject({ method: "GET", url: "/v1/rating/module_config/hashmap/fields?service_id=s1&service_id=s2" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { fields: [] });
    assert.deepEqual(asked, ["s2"]);
    await a.close();
  });

  it("pushes CloudKitty data frames as one storage frame per scope, exact digits, a key per request, 204; names the body's fields", async () => {
    const sent: Array<{ req: AddDataFramesRequest; caller: Caller }> = [];
    const addDataFrames = async (req: AddDataFramesRequest, caller: Caller) => {
      sent.push({ req, caller });
      return { pointsAdded: "3", replayed: false, scopesCreated: [] };
    };
    const { app: a } = await app({ storage: { addDataFrames } }, { auth: "keystone" });
    const point = (project: string, qty: string, price?: string) =>
      `{"vol": {"unit": "GiB", "qty": ${qty}}, ${price === undefined ? "" : `"rating": {"price": ${price}}, `}` +
      `"groupby": {"project_id": "${project}", "id": 7}, "metadata": {"size": 10.50}}`;
    const body =
      `{"dataframes": [{"period": {"begin": "2026-03-01T01:00:00", "end": "2026-03-01T02:00:00+00:00"}, "usage": {` +
      `"volume.size": [${point("p1", "10.10", "0.1000000000000000000001")}, ${point("p2", "1")}], "image": [${point("p1", "3", "2")}]}}]}`;
    const headers = { "x-auth-token": "admin-token" };
    const res = await a.inject({ method: "POST", url: "/v2/dataframes", body, headers });
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, "");
    const req = sent[0]?.req as AddDataFramesRequest;
    assert.equal(sent[0]?.caller.token, "admin-token");
    assert.deepEqual(
      req.frames.map((f) => [f.scopeId, f.begin?.toISOString(), f.end?.toISOString(), f.points.map((p) => [p.type, p.qty, p.price])]),
      [
        [
          "p1",
          "2026-03-01T01:00:00.000Z",
          "2026-03-01T02:00:00.000Z",
          [
            ["image", "3", "2"],
            ["volume.size", "10.10", "0.1000000000000000000001"],
          ],
        ],
        ["p2", "2026-03-01T01:00:00.000Z", "2026-03-01T02:00:00.000Z", [["volume.size", "1", "0"]]],
      ],
    );
    assert.deepEqual(req.frames[0]?.points[0]?.groupby, { project_id: "p1", id: "7" });
    assert.deepEqual(req.frames[0]?.points[0]?.metadata, { size: "10.50" });
    assert.equal(req.scopeKey, "project_id");
    assert.match(req.idempotencyKey, /^api-[0-9a-f-]{36}$/);
    await a.inject({ method: "POST", url: "/v2/dataframes", body, headers: { ...headers, "idempotency-key": "batch-7" } });
    assert.equal(sent[1]?.req.idempotencyKey, "batch-7");
    await a.inject({ method: "POST", url: "/v2/dataframes", body, headers });
    assert.notEqual(sent[2]?.req.idempotencyKey, sent[0]?.req.idempotencyKey, "a new key for each request");

    const bad = async (payload: string, message: string) => {
      const r = await a.inject({ method: "POST", url: "/v2/dataframes", body: payload, headers });
      assert.equal(r.statusCode, 400, payload);
      assert.deepEqual(r.json(), { message });
    };
    await bad('{"dataframes": []}', "Parameter dataframes must not be empty.");
    await bad(
      '{"dataframes": [{"period": {"begin": "2026-03-01T01:00:00"}, "usage": {}}]}',
      "Invalid data: required key not provided (path: 'dataframes[0].period.end')",
    );
    await bad(
      `{"dataframes": [{"period": {"begin": "2026-03-01T01:00:00", "end": "2026-03-01T02:00:00"}, "usage": {"cpu": [{"vol": {"unit": "h", "qty": 1}, "groupby": {}, "metadata": {}}]}}]}`,
      "Invalid data: no project_id: it names the point's scope ([collect] scope_key) (path: 'dataframes[0].usage.cpu[0].groupby')",
    );
    // Nothing to push: 204 without a call, as CloudKitty pushes nothing.
    const calls = sent.length;
    const empty = await a.inject({
      method: "POST",
      url: "/v2/dataframes",
      body: '{"dataframes": [{"period": {"begin": "2026-03-01T01:00:00", "end": "2026-03-01T02:00:00"}, "usage": {}}]}',
      headers,
    });
    assert.equal(empty.statusCode, 204);
    assert.equal(sent.length, calls);
    await a.close();

    // Storage's refusal, named in the body's terms.
    const refusing = async () => {
      throw new RemoteCallError(
        "StorageService/AddDataFrames",
        status.INVALID_ARGUMENT,
        'frames[1].points[0].qty: "x" is not an exact decimal',
      );
    };
    const { app: b } = await app({ storage: { addDataFrames: refusing } });
    const r = await b.inject({ method: "POST", url: "/v2/dataframes", body });
    assert.equal(r.statusCode, 400);
    assert.deepEqual(r.json(), { message: 'dataframes[0].usage.volume.size[1].vol.qty: "x" is not an exact decimal' });
    await b.close();
  });

  it("answers unknown routes with CloudKitty's 404 bodies", async () => {
    const { app: a } = await app({ rating: { listModules: async () => ({ modules: MODULES }) } });
    const v1 = await a.inject({ method: "GET", url: "/v1/nothing/here" });
    assert.equal(v1.statusCode, 404);
    assert.equal((v1.json() as { faultcode: string }).faultcode, "Client");
    const v2 = await a.inject({ method: "GET", url: "/v2/nothing" });
    assert.equal(v2.statusCode, 404);
    assert.match((v2.json() as { message: string }).message, /^The requested URL was not found/);
    const noop = await a.inject({ method: "GET", url: "/v1/rating/module_config/noop/anything" });
    assert.equal(noop.statusCode, 409);
    assert.equal((noop.json() as { faultstring: string }).faultstring, "Module is not configurable");
    const bad = await a.inject({
      method: "POST",
      url: "/v1/rating/quote",
      headers: { "content-type": "application/json" },
      payload: "{oops",
    });
    assert.equal(bad.statusCode, 400);
    await a.close();
  });
});
