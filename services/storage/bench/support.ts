/**
 * What the storage benchmarks share: engines on throwaway databases,
 * realistic frames, timing and the memory of a process.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import type { CommitPeriodRequest } from "../../../libs/gen/ratemesh/v1/storage.js";
import { Connection } from "../../../libs/grpc/client.js";
import { adminQuery, adminUrl } from "../../../test/support/postgres.js";
import { ServiceProcess } from "../../../test/support/service-process.js";
import type { StorageEngine } from "../domain.js";
import { openPostgresEngine } from "../postgres/dialect.js";
import { openSqliteEngine } from "../sqlite/dialect.js";

export const PERIOD = 3600;

export type EngineName = "sqlite" | "postgresql";

export function enginesToRun(): EngineName[] {
  const wanted = (process.env.RATEMESH_BENCH_ENGINES ?? "sqlite,postgresql").split(",").map((s) => s.trim());
  return (["sqlite", "postgresql"] as const).filter((e) => wanted.includes(e));
}

export interface BenchDatabase {
  backend: EngineName;
  /** File path (sqlite) or connection URL (postgresql). */
  url: string;
  open(): Promise<StorageEngine>;
  drop(): Promise<void>;
}

export async function benchDatabase(backend: EngineName, poolSize = 4): Promise<BenchDatabase> {
  if (backend === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "ratemesh-bench-"));
    const url = join(dir, "storage.sqlite");
    return {
      backend,
      url,
      open: async () => openSqliteEngine(url, { periodSeconds: PERIOD }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `rm_bench_${randomBytes(5).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    backend,
    url,
    open: () => openPostgresEngine(url, { periodSeconds: PERIOD, poolSize }),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface BenchStorage {
  proc: ServiceProcess;
  conn: Connection;
  /** Closes the connection, stops the process and removes its configuration. */
  stop(): Promise<void>;
}

/** A storage process on the database, and a connection to it whose calls may take deadlineSeconds. */
export async function startStorage(db: BenchDatabase, deadlineSeconds: number): Promise<BenchStorage> {
  const dir = mkdtempSync(join(tmpdir(), "ratemesh-bench-conf-"));
  const configFile = join(dir, "storage.conf");
  writeFileSync(configFile, `[storage]\nbackend = ${db.backend}\nurl = ${db.url}\nlisten = 127.0.0.1:0\n[collect]\nperiod = ${PERIOD}\n`);
  const proc = await ServiceProcess.start({ service: "storage", configFile });
  const conn = new Connection(proc.address, {
    deadlineSeconds,
    retries: 0,
    retryBackoffSeconds: 0.1,
    keepaliveSeconds: 30,
    maxMessageBytes: 64 << 20,
  });
  return {
    proc,
    conn,
    stop: async () => {
      conn.close();
      await proc.stop("SIGTERM", 15_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TYPES = ["instance", "volume.size", "image.size", "network.bw.in", "ip.floating"];
const UNITS = ["instance", "GiB", "MiB", "MB", "ip"];
const FLAVORS = ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "c1.huge"];

/**
 * The points of one scope's period: `count` resources, each with a stable
 * groupby map (as a collector produces: same map every period) and prices
 * with a few decimals that vary per period.
 */
export function framePoints(scope: string, count: number, period: number): DataPoint[] {
  const out: DataPoint[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = i % TYPES.length;
    const qty = t === 0 ? "1" : `${(i * 7) % 500}.${(i * 13) % 100}`;
    out[i] = {
      type: TYPES[t] as string,
      unit: UNITS[t] as string,
      qty,
      price: `${(i + period) % 3}.${String((i * 31 + period * 7) % 10000).padStart(4, "0")}`,
      groupby: { project_id: scope, id: `${scope}-res-${i}`, flavor: FLAVORS[i % FLAVORS.length] as string },
      metadata: { image: `img-${i % 40}`, availability_zone: `az-${i % 3}` },
    };
  }
  return out;
}

export function commitRequest(scope: string, begin: Date, points: DataPoint[], first: boolean, token = 1): CommitPeriodRequest {
  return {
    frame: { scopeId: scope, begin, end: new Date(begin.getTime() + PERIOD * 1000), points },
    expectedState: first ? undefined : begin,
    fencingToken: String(token),
    fencingEpoch: "0",
    owner: "bench",
    reprocessTaskId: "",
    scopeKey: "project_id",
    fetcher: "source",
    collector: "gnocchi",
    unpricedPoints: "0",
  };
}

export function conditions(): string {
  const cpu = cpus();
  const [l1, l5] = loadavg();
  return `${cpu.length} x ${cpu[0]?.model ?? "cpu"}, load average ${l1?.toFixed(2)} (1 min) ${l5?.toFixed(2)} (5 min), node ${process.version}`;
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** CPU time (user + system) a process has used, in ms (Linux /proc). */
export function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of /proc/pid/stat, in clock ticks (100 per second here).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
