/**
 * A ratemesh cluster for processor tests: a real etcd, storage and rating
 * processes, and several collector processes coordinating through etcd,
 * rating a generated usage file with known totals.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { Etcd3 } from "etcd3";
import { type Scope, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../libs/grpc/client.js";
import { Decimal } from "../../libs/money/decimal.js";
import { EtcdServer } from "./etcd.js";
import { connect, type IniSections, startService, tempDir, writeConfig } from "./mesh.js";
import type { ServiceProcess } from "./service-process.js";

export const PERIOD = 3600;

export const METRICS_YML = `
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor]
    mutate: NUMBOOL
  volume.size:
    unit: GiB
    groupby: [id]
`;

export interface Workload {
  scopes: string[];
  begin: Date;
  periods: number;
}

export function workloadEnd(w: Workload): Date {
  return new Date(w.begin.getTime() + w.periods * PERIOD * 1000);
}

/**
 * Usage for every scope and period: one instance (running in most periods)
 * and two volumes whose sizes vary. Returns the file and the exact expected
 * quantity total of each scope.
 */
export function writeWorkload(dir: string, w: Workload): { file: string; expected: Map<string, Decimal>; points: number } {
  const lines: string[] = [];
  const expected = new Map<string, Decimal>();
  let points = 0;
  for (const [si, scope] of w.scopes.entries()) {
    let total = Decimal.ZERO;
    for (let p = 0; p < w.periods; p++) {
      const begin = new Date(w.begin.getTime() + p * PERIOD * 1000).toISOString();
      const running = (si + p) % 5 !== 0;
      lines.push(
        JSON.stringify({
          metric: "cpu",
          scope_id: scope,
          begin,
          qty: running ? 1000 + p : 0,
          groupby: { id: `vm-${si}` },
          metadata: { flavor: "m1" },
        }),
      );
      if (running) total = total.add(Decimal.ONE);
      for (let v = 0; v < 2; v++) {
        const size = Decimal.parse(`${10 + ((si * 7 + p * 3 + v) % 50)}.25`);
        lines.push(
          JSON.stringify({ metric: "volume.size", scope_id: scope, begin, qty: size.toString(), groupby: { id: `vol-${si}-${v}` } }),
        );
        total = total.add(size);
      }
      points += 3;
    }
    expected.set(scope, total);
  }
  const file = join(dir, "usage.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, expected, points };
}

export interface Cluster {
  dir: string;
  etcd: EtcdServer;
  storage: ServiceProcess;
  rating: ServiceProcess;
  collectors: ServiceProcess[];
  configFile: string;
  expected: Map<string, Decimal>;
  points: number;
  workload: Workload;
  storageClient: Client<typeof StorageServiceService>;
  scopesClient: Client<typeof ScopeServiceService>;
  addCollector(env?: Record<string, string>): Promise<ServiceProcess>;
}

export interface ClusterOptions {
  workload: Workload;
  collectors: number;
  ttlSeconds: number;
  /** Extra [section] options for every process. */
  sections?: IniSections;
  /** Extra environment for every service process (NODE_OPTIONS, say). */
  env?: Record<string, string>;
}

export async function startCluster(t: TestContext, opts: ClusterOptions): Promise<Cluster> {
  const dir = tempDir(t);
  const etcd = await EtcdServer.start(t);
  writeFileSync(join(dir, "metrics.yml"), METRICS_YML);
  const { file, expected, points } = writeWorkload(dir, opts.workload);
  const extra = opts.sections ?? {};
  const configFile = writeConfig(dir, {
    ...extra,
    log: { level: "debug", ...extra.log },
    server: { grace_period: "5s", readiness_interval: "0.2s", ...extra.server },
    storage: { url: join(dir, "storage.sqlite"), listen: "127.0.0.1:0", ...extra.storage },
    rating: { url: join(dir, "rating.sqlite"), listen: "127.0.0.1:0", ...extra.rating },
    collector: { listen: "127.0.0.1:0" },
    collect: {
      collector: "file",
      metrics_conf: join(dir, "metrics.yml"),
      period: PERIOD,
      wait_periods: 0,
      start: opts.workload.begin.toISOString(),
      end: workloadEnd(opts.workload).toISOString(),
      ...extra.collect,
    },
    collector_file: { path: file },
    fetcher: { backend: "source" },
    fetcher_source: { sources: opts.workload.scopes.join(", ") },
    orchestrator: { coordination_url: etcd.url, lease_ttl: `${opts.ttlSeconds}s`, ...extra.orchestrator },
  });
  const [storage, rating] = await Promise.all([
    startService(t, { service: "storage", configFile, env: opts.env ?? {} }),
    startService(t, { service: "rating", configFile, env: opts.env ?? {} }),
  ]);
  const collectors: ServiceProcess[] = [];
  const addCollector = async (env: Record<string, string> = {}) => {
    const c = await startService(t, {
      service: "collector",
      configFile,
      env: { ...opts.env, RATEMESH_STORAGE__ENDPOINT: storage.address, RATEMESH_RATING__ENDPOINT: rating.address, ...env },
    });
    collectors.push(c);
    return c;
  };
  await Promise.all(Array.from({ length: opts.collectors }, () => addCollector()));
  const conn = connect(t, storage.address);
  return {
    dir,
    etcd,
    storage,
    rating,
    collectors,
    configFile,
    expected,
    points,
    workload: opts.workload,
    storageClient: conn.client(StorageServiceService),
    scopesClient: conn.client(ScopeServiceService),
    addCollector,
  };
}

export interface CommitRecord {
  scopeId: string;
  begin: string;
  token: string;
  owner: string;
  replayed: boolean;
  time: number;
}

/** Every commit storage accepted, from storage's own audit log. */
export function commits(cluster: Cluster): CommitRecord[] {
  return cluster.storage
    .logs()
    .filter((l) => l.msg === "commit accepted")
    .map((l) => ({
      scopeId: String(l.scope_id),
      begin: String(l.begin),
      token: String(l.fencing_token),
      owner: String(l.owner),
      replayed: l.replayed === true,
      time: Date.parse(String(l.time)),
    }));
}

/** The coordination member id of a collector (from its log). */
export function memberId(c: ServiceProcess): string {
  const joined = c.logs().find((l) => l.msg === "joined the coordination group");
  return String(joined?.member_id ?? "");
}

/** Acquisitions logged by a collector: scope -> times (ms). */
export function acquisitions(c: ServiceProcess): Array<{ scopeId: string; time: number }> {
  return c
    .logs()
    .filter((l) => l.msg === "scopes acquired")
    .flatMap((l) => (l.scopes as string[]).map((s) => ({ scopeId: s, time: Date.parse(String(l.time)) })));
}

/** The scopes owned right now, as etcd holds them: scope -> member id. */
export async function ownersInEtcd(cluster: Cluster, prefix = "/ratemesh"): Promise<Map<string, string>> {
  const client = new Etcd3({ hosts: cluster.etcd.endpoint });
  try {
    const all = await client.getAll().prefix(`${prefix}/scopes/`).strings();
    return new Map(Object.entries(all).map(([k, v]) => [decodeURIComponent(k.slice(`${prefix}/scopes/`.length)), v]));
  } finally {
    client.close();
  }
}

/** Every scope storage knows, all pages. */
async function allScopes(cluster: Cluster): Promise<Scope[]> {
  const out: Scope[] = [];
  let pageToken = "";
  do {
    const page = await cluster.scopesClient.listScopes({
      scopeIds: [],
      scopeKey: "",
      fetcher: "",
      collector: "",
      pageSize: 1000,
      pageToken,
    });
    out.push(...page.scopes);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

/** Number of scopes whose state reached the workload's end. */
export async function scopesDone(cluster: Cluster): Promise<number> {
  const end = workloadEnd(cluster.workload).getTime();
  return (await allScopes(cluster)).filter((s) => s.state?.getTime() === end).length;
}

/** Periods committed so far, over all scopes (from storage's states). */
export async function periodsDone(cluster: Cluster): Promise<number> {
  const begin = cluster.workload.begin.getTime();
  let n = 0;
  for (const s of await allScopes(cluster)) if (s.state !== undefined) n += (s.state.getTime() - begin) / 1000 / PERIOD;
  return n;
}

/**
 * Checks the outcome: every (scope, period) committed exactly once (replays
 * of the same commit aside), and each scope's stored quantities sum to the
 * expected total exactly. Returns the problems found.
 */
export async function verifyExactlyOnce(cluster: Cluster): Promise<string[]> {
  const problems: string[] = [];
  const expectedCommits = cluster.workload.scopes.length * cluster.workload.periods;
  // Storage writes its log asynchronously: let the last lines arrive.
  for (let i = 0; i < 100 && commits(cluster).filter((c) => !c.replayed).length < expectedCommits; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = new Map<string, CommitRecord[]>();
  for (const c of commits(cluster)) {
    if (c.replayed) continue;
    const key = `${c.scopeId}@${c.begin}`;
    seen.set(key, [...(seen.get(key) ?? []), c]);
  }
  for (const [key, list] of seen) {
    if (list.length > 1) problems.push(`${key} committed ${list.length} times (owners ${list.map((c) => c.owner).join(", ")})`);
  }
  const { scopes, periods, begin } = cluster.workload;
  for (const s of scopes) {
    for (let p = 0; p < periods; p++) {
      const key = `${s}@${new Date(begin.getTime() + p * PERIOD * 1000).toISOString()}`;
      if (!seen.has(key)) problems.push(`${key} never committed`);
    }
  }
  const { rows, columns } = await cluster.storageClient.summary({
    begin,
    end: workloadEnd(cluster.workload),
    groupBy: ["scope_id"],
    filters: [],
    orderBy: [],
    pageSize: 10000,
    pageToken: "",
  });
  const scopeCol = columns.indexOf("scope_id");
  const qtyCol = columns.indexOf("qty");
  const got = new Map(rows.map((r) => [r.values[scopeCol] ?? "", Decimal.parse(r.values[qtyCol] ?? "0")]));
  for (const [scope, want] of cluster.expected) {
    const have = got.get(scope);
    if (have === undefined || !have.eq(want)) problems.push(`${scope}: stored qty ${have?.toString()} != expected ${want.toString()}`);
  }
  const total = await cluster.storageClient.total({ begin, end: workloadEnd(cluster.workload), filters: [] });
  if (Number(total.points) !== cluster.points) problems.push(`${total.points} points stored, ${cluster.points} expected`);
  return problems;
}
