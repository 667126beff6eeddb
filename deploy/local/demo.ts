/**
 * The local all-in-one run (`npm start`): starts storage, rating and the
 * collector as three processes with deploy/local/ratemesh.conf, lets the
 * collector rate the bundled usage file, prints what each project used and
 * cost, and shows how to query the services with buf curl. The services keep
 * running until Ctrl-C, unless --once is given. They listen on the ports of
 * ratemesh.conf (9631-9633, which the README's examples use), each on a
 * free port instead when its own is taken. --data DIR keeps the databases
 * in DIR instead of .demo/.
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sleep } from "../../libs/async/limit.js";
import { HashmapServiceService, RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { type Scope, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { Connection } from "../../libs/grpc/client.js";
import { rfc3339 } from "../../libs/time/period.js";
import { type ServiceName, ServiceProcess } from "../../test/support/service-process.js";
import { createDemoPriceList, PRICE_LIST } from "./prices.js";

const { values } = parseArgs({
  options: { once: { type: "boolean" }, verbose: { type: "boolean", short: "v" }, data: { type: "string", default: ".demo" } },
});
const root = fileURLToPath(new URL("../../..", import.meta.url));
process.chdir(root);

const CONFIG = "deploy/local/ratemesh.conf";
const BEGIN = new Date("2026-11-01T00:00:00Z");
const END = new Date("2026-11-04T00:00:00Z");
const SCOPES = ["acme-prod", "globex-dev", "initech-qa"];

const CLIENT = { deadlineSeconds: 10, retries: 3, retryBackoffSeconds: 0.1, keepaliveSeconds: 30, maxMessageBytes: 64 << 20 };

const out = (s = "") => process.stdout.write(`${s}\n`);
const echo = values.verbose ? process.stderr : undefined;

// The databases (ratemesh.conf says .demo/; --data puts them elsewhere, so that two demos can run at once).
const DATA = values.data;
const DATABASES = { RATEMESH_STORAGE__URL: `${DATA}/storage.sqlite`, RATEMESH_RATING__URL: `${DATA}/rating.sqlite` };
rmSync(DATA, { recursive: true, force: true });
out("ratemesh demo: starting storage, rating, the collector and the REST API (logs: --verbose)");
const procs: ServiceProcess[] = [];

/**
 * Starts the service on its port of ratemesh.conf (the README's examples
 * use them), or on any free port when that one is taken (said so).
 */
async function startOn(service: ServiceName, port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const listen = `RATEMESH_${service.toUpperCase()}__LISTEN`;
  const start = (address: string) =>
    ServiceProcess.start({ service, configFile: CONFIG, env: { ...env, [listen]: address }, ...(echo && { echo }) });
  let p: ServiceProcess;
  try {
    p = await start(`127.0.0.1:${port}`);
  } catch (err) {
    if (!String(err).includes("EADDRINUSE")) throw err;
    out(`(port ${port} is taken: ${service} listens on another one; the README's examples use ${port})`);
    p = await start("127.0.0.1:0");
  }
  procs.push(p);
  return p;
}
const stopAll = async () => {
  for (const p of procs.reverse()) await p.stop("SIGTERM");
};

try {
  const storage = await startOn("storage", 9631, DATABASES);
  const rating = await startOn("rating", 9632, DATABASES);

  // The price list goes in before the collector starts, so that every period is priced.
  const ratingConn = new Connection(rating.address, CLIENT);
  await createDemoPriceList(ratingConn.client(HashmapServiceService), ratingConn.client(RatingServiceService));
  ratingConn.close();
  out("\nprice list (hashmap):");
  out(PRICE_LIST);

  const collector = await startOn("collector", 9633, {
    RATEMESH_STORAGE__ENDPOINT: storage.address,
    RATEMESH_RATING__ENDPOINT: rating.address,
  });
  // CloudKitty's REST API, on CloudKitty's port, for its client and scripts.
  const api = await startOn("api", 8889, {
    RATEMESH_STORAGE__ENDPOINT: storage.address,
    RATEMESH_RATING__ENDPOINT: rating.address,
    RATEMESH_COLLECTOR__ENDPOINT: collector.address,
  });
  out(
    `\n  storage   ${storage.address}\n  rating    ${rating.address}\n  collector ${collector.address}\n  api       http://${api.address} (CloudKitty's REST API)`,
  );
  out(`  metrics   ${[storage, rating, collector].map((p) => `http://${p.metricsAddress}/metrics`).join(" ")}`);

  const conn = new Connection(storage.address, {
    deadlineSeconds: 10,
    retries: 3,
    retryBackoffSeconds: 0.1,
    keepaliveSeconds: 30,
    maxMessageBytes: 64 << 20,
  });
  const scopes = conn.client(ScopeServiceService);
  const store = conn.client(StorageServiceService);

  const t0 = Date.now();
  out(`\nrating ${SCOPES.length} projects, hourly, ${rfc3339(BEGIN)} to ${rfc3339(END)}...`);
  let rated: Scope[] = [];
  for (;;) {
    const { scopes: list } = await scopes.listScopes({
      scopeIds: SCOPES,
      scopeKey: "",
      fetcher: "",
      collector: "",
      pageSize: 0,
      pageToken: "",
    });
    const done = list.filter((s) => s.state?.getTime() === END.getTime()).length;
    rated = list;
    if (done === SCOPES.length) break;
    if (Date.now() - t0 > 120_000) throw new Error(`rating did not finish within 120 s (${done}/${SCOPES.length} projects done)`);
    await sleep(200);
  }
  const periods = (SCOPES.length * (END.getTime() - BEGIN.getTime())) / 3600_000;
  out(`rated ${periods} periods in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

  const byType = await store.summary({
    begin: BEGIN,
    end: END,
    groupBy: ["scope_id", "type"],
    filters: [],
    orderBy: [],
    pageSize: 1000,
    pageToken: "",
  });
  const rows = byType.rows.map((r) => r.values);
  const table = [["project", "type", "quantity", "price"], ...rows.map((v) => [v[4] ?? "", v[5] ?? "", v[2] ?? "", v[3] ?? ""])];
  const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length)));
  table.forEach((r, i) => {
    out(`  ${r.map((c, j) => (j >= 2 ? c.padStart(widths[j] ?? 0) : c.padEnd(widths[j] ?? 0))).join("  ")}`);
    if (i === 0) out(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
  });
  const byProject = await store.summary({
    begin: BEGIN,
    end: END,
    groupBy: ["scope_id"],
    filters: [],
    orderBy: [],
    pageSize: 100,
    pageToken: "",
  });
  const col = (name: string) => byProject.columns.indexOf(name);
  out("\n  price per project (and points stored with no price rule in force, which cost 0):");
  for (const r of byProject.rows) {
    const id = r.values[col("scope_id")] ?? "";
    const unpriced = rated.find((s) => s.scopeId === id)?.unpricedPoints ?? "?";
    out(`    ${id.padEnd(widths[0] ?? 0)}  ${r.values[col("price")]}  unpriced points: ${unpriced}`);
  }
  const missing = rated.filter((s) => s.unpriced);
  if (missing.length > 0) out(`  warning: ${missing.map((s) => s.scopeId).join(", ")} had points no rule priced (ratemesh scopes list)`);
  const total = await store.total({ begin: BEGIN, end: END, filters: [] });
  out(`  total price over all projects: ${total.price}`);
  conn.close();

  const B = "./node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge";
  out("\nquery it with buf curl (no proto file needed: the services serve reflection):");
  out(`  ${B} --list-services http://${storage.address}`);
  out(
    `  ${B} http://${storage.address}/ratemesh.v1.StorageService/Summary \\\n      -d '{"begin":"${rfc3339(BEGIN)}","end":"${rfc3339(END)}","group_by":["scope_id","type"]}'`,
  );
  out(`  ${B} http://${storage.address}/ratemesh.v1.ScopeService/ListScopes -d '{}'`);
  out(`  ${B} http://${rating.address}/ratemesh.v1.RatingService/ListModules -d '{}'`);
  out(
    `  ${B} http://${rating.address}/ratemesh.v1.RatingService/Explain \\\n      -d '{"scope_id":"acme-prod","point":{"type":"volume.size","qty":"200","groupby":{"id":"vol-acme-db"},"metadata":{"volume_type":"ssd"}}}'`,
  );
  out(`  ${B} http://${collector.address}/ratemesh.v1.CollectorService/GetStatus -d '{}'`);
  out(
    `  ${B} http://${collector.address}/ratemesh.v1.CollectorService/Collect \\\n      -d '{"scope_id":"acme-prod","metric":"cpu","begin":"2026-11-01T00:00:00Z"}'`,
  );

  out("\nor with the ratemesh CLI (npx ratemesh --help lists every command):");
  out(`  npx ratemesh summary --storage ${storage.address} --begin 2026-11-01 --end 2026-11-04 -g scope_id,type`);
  out(`  npx ratemesh explain --rating ${rating.address} --scope acme-prod --type volume.size --qty 200 --metadata volume_type=ssd`);
  out(`  npx ratemesh status --collector ${collector.address}`);
  out(`  npx ratemesh scopes list --storage ${storage.address}      # with each scope's unpriced points`);

  out("\nor through CloudKitty's REST API, with CloudKitty's own client (python3-cloudkittyclient):");
  out(
    `  cloudkitty --os-auth-type cloudkitty-noauth --os-endpoint http://${api.address} summary get -b 2026-11-01T00:00:00 -e 2026-11-04T00:00:00`,
  );

  if (values.once) {
    await stopAll();
    out("\nservices stopped.");
  } else {
    out("\nthe services keep running; Ctrl-C stops them.");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    await stopAll();
    out("services stopped.");
  }
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exitCode = 1;
}
