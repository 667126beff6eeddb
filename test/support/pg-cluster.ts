/**
 * A PostgreSQL cluster of a test's own (Debian's pg_createcluster), on a
 * free port with trust authentication, that the test may stop and start
 * again (an outage) without touching the machine's server; dropped when the
 * test ends.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import type { TestContext } from "node:test";
import { freePort } from "./ports.js";

export interface PgCluster {
  /** postgresql:// URL of its `postgres` database. */
  url: string;
  stop(): void;
  start(): void;
}

const VERSION = readdirSync("/usr/lib/postgresql")
  .filter((v) => /^\d+$/.test(v))
  .sort((a, b) => Number(a) - Number(b))
  .at(-1) as string;

function ctl(name: string, action: "start" | "stop"): void {
  const args = ["--skip-systemctl-redirect", VERSION, name, action, ...(action === "stop" ? ["-m", "fast"] : [])];
  execFileSync("pg_ctlcluster", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export async function startPgCluster(t: TestContext): Promise<PgCluster> {
  const name = `rmtest_${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  execFileSync("pg_createcluster", [VERSION, name, "-p", String(port), "--", "--auth-local=trust", "--auth-host=trust"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  t.after(() => {
    execFileSync("pg_dropcluster", ["--stop", VERSION, name], { stdio: ["ignore", "ignore", "pipe"] });
  });
  ctl(name, "start");
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl(name, "stop"),
    start: () => ctl(name, "start"),
  };
}
