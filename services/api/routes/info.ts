/**
 * /v1/info: the metrics being rated, from the collector's ListMetrics.
 * CloudKitty reads metrics.yml itself; the gateway asks the collector,
 * which has validated it. /v1/info/config is CloudKitty's raw file; here it
 * is rebuilt from the collector's parsed configuration, so defaults are
 * filled in (extra_args, the scope key in groupby) and a fraction factor
 * shows as its exact decimal.
 */
import type { FastifyInstance } from "fastify";
import type { MetricConfig } from "../../../libs/gen/ratemesh/v1/collector.js";
import { notFound } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { RawNumber } from "../json.js";
import { sendJson } from "../reply.js";
import type { Caller } from "../upstream.js";

const metricInfo = (m: MetricConfig) => ({ metric_id: m.altName || m.name, metadata: m.metadata, unit: m.unit });

/** One metrics.yml entry, leaving out what is at its default. */
function configEntry(m: MetricConfig): Record<string, unknown> {
  const entry: Record<string, unknown> = { unit: m.unit };
  if (m.altName !== "" && m.altName !== m.name) entry.alt_name = m.altName;
  entry.groupby = m.groupby;
  entry.metadata = m.metadata;
  if (m.factor !== "" && m.factor !== "1") entry.factor = new RawNumber(m.factor);
  if (m.offset !== "" && m.offset !== "0") entry.offset = new RawNumber(m.offset);
  if (m.mutate !== "" && m.mutate !== "NONE") entry.mutate = m.mutate;
  if (Object.keys(m.mutateMap).length > 0) {
    entry.mutate_map = Object.fromEntries(Object.entries(m.mutateMap).map(([k, v]) => [k, new RawNumber(v)]));
  }
  if (m.description !== "") entry.description = m.description;
  if (m.extraArgs !== undefined && Object.keys(m.extraArgs).length > 0) entry.extra_args = m.extraArgs;
  return entry;
}

export function registerInfo(app: FastifyInstance, gw: Gateway): void {
  const metrics = async (caller: Caller) => (await gw.services.collector.listMetrics({}, caller)).metrics;

  const list = async (caller: Caller) => ({ metrics: (await metrics(caller)).map(metricInfo) });
  const one = async (caller: Caller, name: string) => {
    const found = (await metrics(caller)).find((m) => (m.altName || m.name) === name);
    // CloudKitty's 404 names the metric and nothing else.
    if (found === undefined) throw notFound(name);
    return metricInfo(found);
  };

  app.get("/v1/info/metrics", async (request, reply) => sendJson(reply, 200, await list(callerOf(gw, request))));
  app.get<{ Params: { name: string } }>("/v1/info/metrics/:name", async (request, reply) =>
    sendJson(reply, 200, await one(callerOf(gw, request), request.params.name)),
  );
  // Deprecated aliases of the metrics endpoints, still served by CloudKitty.
  app.get("/v1/info/services", async (request, reply) => sendJson(reply, 200, await list(callerOf(gw, request))));
  app.get<{ Params: { name: string } }>("/v1/info/services/:name", async (request, reply) =>
    sendJson(reply, 200, await one(callerOf(gw, request), request.params.name)),
  );

  app.get("/v1/info/config", async (request, reply) => {
    const byName = new Map<string, Array<Record<string, unknown>>>();
    for (const m of await metrics(callerOf(gw, request))) byName.set(m.name, [...(byName.get(m.name) ?? []), configEntry(m)]);
    // A source metric with several rating types is a list of entries in metrics.yml.
    const entries = Object.fromEntries([...byName].map(([name, list]) => [name, list.length === 1 ? list[0] : list]));
    return sendJson(reply, 200, { metrics: entries });
  });
}
