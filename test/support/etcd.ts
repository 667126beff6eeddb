/**
 * A real etcd (Debian's etcd-server) for a test: its own data directory and
 * free ports on 127.0.0.1, stopped by PID when the test ends. It can be
 * stopped and started again on the same ports and data, to test an etcd
 * outage.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import type { TestContext } from "node:test";
import { tempDir } from "./mesh.js";
import { freePort } from "./ports.js";

export class EtcdServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  static async start(t: TestContext): Promise<EtcdServer> {
    const server = new EtcdServer(tempDir(t, "ratemesh-etcd-"), await freePort(), await freePort());
    t.after(() => server.stop());
    await server.run();
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** The [orchestrator] coordination_url for it. */
  get url(): string {
    return `etcd3+http://127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async run(): Promise<void> {
    const child = spawn(
      "etcd",
      [
        "--name",
        "t",
        "--data-dir",
        this.dataDir,
        "--listen-client-urls",
        this.endpoint,
        "--advertise-client-urls",
        this.endpoint,
        "--listen-peer-urls",
        `http://127.0.0.1:${this.peerPort}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${this.peerPort}`,
        "--initial-cluster",
        `t=http://127.0.0.1:${this.peerPort}`,
        "--logger=zap",
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const until = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd exited at start: ${stderr}`);
      try {
        const res = await fetch(`${this.endpoint}/health`);
        if (res.ok && ((await res.json()) as { health?: string }).health === "true") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`etcd not healthy within 15 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the server, deletes every key it held (its data directory), and starts it again empty: a rebuilt cluster. */
  async wipe(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.run();
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
