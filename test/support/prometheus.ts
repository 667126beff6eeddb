/**
 * A real Prometheus (Debian's prometheus package) for tests, on a free
 * port, stopped by PID at the end. Two ways: over historic samples
 * (written as OpenMetrics and turned into TSDB blocks with `promtool tsdb
 * create-blocks-from openmetrics`; no scraping), as a source for the
 * collector; or scraping targets, as an operator's Prometheus scrapes the
 * services' metrics.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { type Watchdog, watchdog } from "./watchdog.js";

export interface PrometheusServer {
  url: string;
  /** The API base CloudKitty's prometheus_url takes. */
  apiUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface Sample {
  metric: string;
  labels: Record<string, string>;
  /** Epoch milliseconds. */
  t: number;
  value: number | string;
}

/** OpenMetrics text of samples, each series' samples in time order, ending with # EOF. */
export function openMetrics(samples: Sample[]): string {
  const bySeries = new Map<string, Sample[]>();
  for (const s of samples) {
    const labels = Object.entries(s.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
      .join(",");
    const key = `${s.metric}{${labels}}`;
    const list = bySeries.get(key);
    if (list === undefined) bySeries.set(key, [s]);
    else list.push(s);
  }
  const lines: string[] = [];
  const families = new Map<string, string[]>();
  for (const [key, list] of bySeries) {
    const name = key.slice(0, key.indexOf("{"));
    const fam = families.get(name) ?? [];
    list.sort((a, b) => a.t - b.t);
    for (const s of list) fam.push(`${key} ${s.value} ${s.t / 1000}`);
    families.set(name, fam);
  }
  for (const [name, fam] of families) {
    lines.push(`# TYPE ${name} gauge`);
    lines.push(...fam);
  }
  lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

export async function startPrometheus(samples: Sample[]): Promise<PrometheusServer> {
  return launch(async (dir) => {
    const input = join(dir, "samples.om");
    writeFileSync(input, openMetrics(samples));
    const data = join(dir, "data");
    const blocks = spawnSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", input, data], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (blocks.status !== 0) throw new Error(`promtool failed (${blocks.status}): ${blocks.stderr.slice(-2000)}`);
    writeFileSync(join(dir, "prometheus.yml"), "global:\n  scrape_interval: 1h\n");
    // Historic blocks must outlive the default 15 days.
    return ["--storage.tsdb.retention.time=100y"];
  });
}

/** A Prometheus scraping each job's targets (host:port, path /metrics) every `intervalSeconds`. */
export async function startScrapingPrometheus(jobs: Record<string, string[]>, intervalSeconds = 1): Promise<PrometheusServer> {
  return launch(async (dir) => {
    const scrapeConfigs = Object.entries(jobs)
      .map(
        ([job, targets]) =>
          `  - job_name: ${job}\n    static_configs:\n      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]\n`,
      )
      .join("");
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: ${intervalSeconds}s\n  scrape_timeout: ${intervalSeconds}s\nscrape_configs:\n${scrapeConfigs}`,
    );
    return [];
  });
}

/** Prepares the directory (config and data), then starts the server over it and waits until it is ready. */
async function launch(prepare: (dir: string) => Promise<string[]>): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "ratemesh-prometheus-"));
  let child: ChildProcess | undefined;
  let guard: Watchdog | undefined;
  const stop = async () => {
    const c = child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
        c.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        c.kill("SIGTERM");
      });
    }
    guard?.release();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const extra = await prepare(dir);
    const data = join(dir, "data");
    const port = await freePort();
    const logs: string[] = [];
    child = spawn(
      "prometheus",
      [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, ...extra],
      { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    if (child.pid !== undefined) guard = watchdog([child.pid], { dir });
    child.stdout?.on("data", (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        const res = await fetch(`${url}/-/ready`);
        await res.text();
        if (res.ok) break;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null) throw new Error(`prometheus exited:\n${logs.join("").slice(-3000)}`);
      if (Date.now() > until) throw new Error(`prometheus not ready within 60 s:\n${logs.join("").slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, apiUrl: `${url}/api/v1`, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The instant vector of a PromQL query now: each series' labels and value. */
export async function promQuery(
  server: PrometheusServer,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const res = await fetch(`${server.apiUrl}/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== "success") throw new Error(`${query}: ${body.error ?? res.status}`);
  return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
