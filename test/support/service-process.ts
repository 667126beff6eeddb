/**
 * Starts a ratemesh service as a child process and follows it: the ports it
 * bound (gRPC and metrics, from its "listening" log line, so port 0 works),
 * its log lines, and a stop that sends a signal and waits for the exit.
 * Used by the local demo and by the tests and benchmarks, which run real
 * processes. The metrics endpoint is on by default on a fixed port: here it
 * gets port 0 unless the caller's env says otherwise, so that processes
 * started side by side never collide.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The services started as processes (each has services/<name>/main.ts). */
export type ServiceName = "storage" | "rating" | "collector" | "api";

export interface ServiceProcessOptions {
  service: ServiceName;
  configFile?: string;
  /** Added to the parent's environment (RATEMESH_* overrides). */
  env?: Record<string, string>;
  cwd?: string;
  startTimeoutMs?: number;
  /** Also write each log line here (e.g. process.stderr for debugging). */
  echo?: NodeJS.WritableStream;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The compiled entry point of a service, next to this file in dist/. */
export function serviceEntry(service: ServiceName): string {
  return fileURLToPath(new URL(`../../services/${service}/main.js`, import.meta.url));
}

export class ServiceProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  private exit: Exit | undefined;

  private constructor(
    readonly service: ServiceName,
    readonly child: ChildProcess,
    echo: NodeJS.WritableStream | undefined,
  ) {
    // "close", not "exit": the process's output has been read to the end
    // by then, so its last log lines are in `lines` once `exited` resolves.
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      this.lines.push(line);
      echo?.write(`[${service}] ${line}\n`);
      for (const w of this.waiters) {
        if (w.test(line)) {
          this.waiters.delete(w);
          w.resolve(line);
        }
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
      this.stderr.push(line);
      echo?.write(`[${service}!] ${line}\n`);
    });
  }

  /** Spawns the service and resolves once it listens. */
  static async start(opts: ServiceProcessOptions): Promise<ServiceProcess> {
    const args = ["--enable-source-maps", serviceEntry(opts.service)];
    if (opts.configFile !== undefined) args.push("--config", opts.configFile);
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: { ...process.env, [`RATEMESH_${opts.service.toUpperCase()}__METRICS_LISTEN`]: "127.0.0.1:0", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc = new ServiceProcess(opts.service, child, opts.echo);
    const timeout = opts.startTimeoutMs ?? 30_000;
    const listening = proc.waitForLog((l) => l.msg === "listening", timeout);
    const failed = proc.exited.then((e) => {
      throw new Error(
        `${opts.service} exited (code ${e.code}, signal ${e.signal}) before listening:\n${[...proc.stderr, ...proc.lines.slice(-20)].join("\n")}`,
      );
    });
    const line = await Promise.race([listening, failed]);
    const address = String(line.address ?? "");
    proc.port = Number(address.slice(address.lastIndexOf(":") + 1));
    proc.metricsAddress = typeof line.metrics_address === "string" ? line.metrics_address : undefined;
    return proc;
  }

  port = 0;
  /** host:port of the metrics endpoint; undefined when it is off. */
  metricsAddress: string | undefined;

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>> {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(test: (entry: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const parse = (l: string): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    const lineTest = (l: string) => {
      const e = parse(l);
      return e !== undefined && test(e);
    };
    const past = this.lines.find(lineTest);
    if (past !== undefined) return Promise.resolve(parse(past) as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const waiter = {
        test: lineTest,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(parse(l) as Record<string, unknown>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.service}: no matching log line within ${timeoutMs} ms; last lines:\n${this.lines.slice(-10).join("\n")}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Waits until at least `count` log lines match, and returns every match:
   * a line is written a moment after the work it reports (a storage state
   * can be visible before the collector's line about it).
   */
  async waitForLogs(
    test: (entry: Record<string, unknown>) => boolean,
    count: number,
    timeoutMs = 10_000,
  ): Promise<Array<Record<string, unknown>>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs().filter(test);
      if (found.length >= count || Date.now() >= until) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends the signal and waits for the exit (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000): Promise<Exit & { elapsedMs: number }> {
    const t0 = Date.now();
    if (this.exit === undefined) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    return { ...(this.exit as Exit), elapsedMs: Date.now() - t0 };
  }
}
