/**
 * Where a real server a test starts lives: a temp dir and a PostgreSQL
 * database of its own, and the stop that ends its process group (and the
 * watchdog that would otherwise end it), drops the database and removes the
 * dir. Keystone and CloudKitty's API use it.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminQuery, adminUrl } from "./postgres.js";
import { stopProcessGroup } from "./processes.js";
import { type Watchdog, watchdog } from "./watchdog.js";

export interface ServerHome {
  dir: string;
  /** The database's URL. */
  databaseUrl: string;
  /** The server's process (spawned detached): stopped by its group, and by the watchdog if this test process dies first. */
  adopt(child: ChildProcess): void;
  stop(): Promise<void>;
}

/** A new home for a server named `name` (in the dir's and the database's names); its database is created. */
export async function serverHome(name: string): Promise<ServerHome> {
  const dir = mkdtempSync(join(tmpdir(), `ratemesh-${name}-`));
  const db = `rm_${name}_${randomBytes(5).toString("hex")}`;
  let child: ChildProcess | undefined;
  let guard: Watchdog | undefined;
  const stop = async () => {
    if (child !== undefined) await stopProcessGroup(child);
    guard?.release();
    await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await adminQuery(`CREATE DATABASE ${db}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = new URL(adminUrl());
  url.pathname = `/${db}`;
  return {
    dir,
    databaseUrl: url.toString(),
    adopt(c) {
      child = c;
      if (c.pid !== undefined) guard = watchdog([c.pid], { database: db, dir });
    },
    stop,
  };
}
