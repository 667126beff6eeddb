/**
 * Test harness: real service processes on free ports, each test in its own
 * temporary directory (config, SQLite files, usage file), stopped by PID
 * when the test ends.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { HealthService } from "../../libs/gen/health/v1/health.js";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { type Client, type ClientOptions, Connection } from "../../libs/grpc/client.js";
import { ServiceProcess, type ServiceProcessOptions } from "./service-process.js";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const BUF = join(REPO_ROOT, "node_modules/.bin/buf");

export const CLIENT_OPTIONS: ClientOptions = {
  deadlineSeconds: 10,
  retries: 3,
  retryBackoffSeconds: 0.05,
  keepaliveSeconds: 30,
  maxMessageBytes: 64 << 20,
};

/** A fresh directory removed when the test ends. */
export function tempDir(t: TestContext, prefix = "ratemesh-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type IniSections = Record<string, Record<string, string | number | undefined>>;

export function iniText(sections: IniSections): string {
  return Object.entries(sections)
    .map(
      ([name, options]) =>
        `[${name}]\n${Object.entries(options)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k} = ${v}`)
          .join("\n")}\n`,
    )
    .join("\n");
}

export function writeConfig(dir: string, sections: IniSections, name = "ratemesh.conf"): string {
  const file = join(dir, name);
  writeFileSync(file, iniText(sections));
  return file;
}

/** Starts a service and stops it (SIGKILL if it must) when the test ends. */
export async function startService(t: TestContext, opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const proc = await ServiceProcess.start({ ...opts, ...(process.env.RATEMESH_TEST_ECHO ? { echo: process.stderr } : {}) });
  t.after(async () => {
    await proc.stop("SIGTERM", 15_000);
  });
  return proc;
}

/** A connection closed when the test ends. */
export function connect(t: TestContext, address: string): Connection {
  const conn = new Connection(address, CLIENT_OPTIONS);
  t.after(() => conn.close());
  return conn;
}

export interface Mesh {
  dir: string;
  configFile: string;
  storage: ServiceProcess;
  rating: ServiceProcess;
  collector: ServiceProcess | undefined;
  clients: {
    storage: Client<typeof StorageServiceService>;
    scopes: Client<typeof ScopeServiceService>;
    reprocess: Client<typeof ReprocessServiceService>;
    rating: Client<typeof RatingServiceService>;
    collector: Client<typeof CollectorServiceService> | undefined;
  };
}

export const DEMO_METRICS = join(REPO_ROOT, "deploy/local/metrics.yml");

/**
 * Storage and rating on free ports, and (unless `withCollector` is false) a
 * collector wired to them, all sharing one config file in a temp dir.
 */
export async function startMesh(t: TestContext, opts: { sections?: IniSections; withCollector?: boolean } = {}): Promise<Mesh> {
  const dir = tempDir(t);
  const sections: IniSections = {
    storage: { url: join(dir, "storage.sqlite"), listen: "127.0.0.1:0" },
    rating: { url: join(dir, "rating.sqlite"), listen: "127.0.0.1:0" },
    collector: { listen: "127.0.0.1:0" },
    server: { grace_period: "5s", readiness_interval: "0.2s" },
    ...opts.sections,
  };
  const configFile = writeConfig(dir, sections);
  const [storage, rating] = await Promise.all([
    startService(t, { service: "storage", configFile }),
    startService(t, { service: "rating", configFile }),
  ]);
  let collector: ServiceProcess | undefined;
  if (opts.withCollector !== false) {
    collector = await startService(t, {
      service: "collector",
      configFile,
      env: { RATEMESH_STORAGE__ENDPOINT: storage.address, RATEMESH_RATING__ENDPOINT: rating.address },
    });
  }
  const s = connect(t, storage.address);
  const r = connect(t, rating.address);
  const c = collector === undefined ? undefined : connect(t, collector.address);
  return {
    dir,
    configFile,
    storage,
    rating,
    collector,
    clients: {
      storage: s.client(StorageServiceService),
      scopes: s.client(ScopeServiceService),
      reprocess: s.client(ReprocessServiceService),
      rating: r.client(RatingServiceService),
      collector: c?.client(CollectorServiceService),
    },
  };
}

/** Polls the health service until SERVING (or the timeout). */
export async function waitServing(t: TestContext, address: string, timeoutMs = 10_000): Promise<string> {
  const health = connect(t, address).client(HealthService);
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    try {
      const res = await health.check({ service: "" }, { deadlineSeconds: 2 });
      last = String(res.status);
      if (res.status === 1) return "SERVING";
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${address} not SERVING within ${timeoutMs} ms (last: ${last})`);
}

export interface BufResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** buf curl over gRPC with reflection: no proto file involved. */
export function bufCurl(url: string, body?: unknown, extra: string[] = []): BufResult {
  const args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...extra, url];
  if (body !== undefined) args.push("-d", JSON.stringify(body));
  const r = spawnSync(BUF, args, { encoding: "utf8", timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Polls until check() is truthy. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms${lastErr ? `: ${String(lastErr)}` : ""}`);
}

/**
 * The sections of a mesh that rates a usage file with the file collector:
 * the scopes listed statically, every period of [begin, end) ratable at once.
 */
export function fileCollectSections(o: {
  metricsFile: string;
  usageFile: string;
  scopes: string[];
  begin: Date;
  end: Date;
  period?: number;
  batchPeriods?: number;
}): IniSections {
  return {
    collect: {
      collector: "file",
      metrics_conf: o.metricsFile,
      period: o.period ?? 3600,
      wait_periods: 0,
      start: o.begin.toISOString(),
      end: o.end.toISOString(),
      batch_periods: o.batchPeriods,
    },
    collector_file: { path: o.usageFile },
    fetcher: { backend: "source" },
    fetcher_source: { sources: o.scopes.join(", ") },
  };
}

/** Polls storage until every one of the scopes is rated up to `end`. */
export async function waitRatedUpTo(mesh: Mesh, scopeIds: string[], end: Date, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const { scopes } = await mesh.clients.scopes.listScopes({
        scopeIds,
        scopeKey: "",
        fetcher: "",
        collector: "",
        pageSize: 0,
        pageToken: "",
      });
      return scopes.length === scopeIds.length && scopes.every((s) => s.state?.getTime() === end.getTime());
    },
    timeoutMs,
    `every scope rated up to ${end.toISOString()}`,
  );
}
