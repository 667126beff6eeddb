/**
 * Rating service processes for tests: on SQLite (a file in the test's temp
 * dir) or PostgreSQL (a database of the test's own), one or several
 * replicas sharing it, with typed clients.
 */
import { join } from "node:path";
import type { TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { HashmapServiceService, RatingServiceService, RulesServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import type { Client } from "../../libs/grpc/client.js";
import { RemoteCallError } from "../../libs/grpc/status.js";
import { connect, type IniSections, startService, tempDir, writeConfig } from "./mesh.js";
import { createTestDatabase } from "./postgres.js";
import type { ServiceProcess } from "./service-process.js";

export type Backend = "sqlite" | "postgresql";
export const BACKENDS: Backend[] = ["sqlite", "postgresql"];

export interface RatingClients {
  rating: Client<typeof RatingServiceService>;
  hashmap: Client<typeof HashmapServiceService>;
  rules: Client<typeof RulesServiceService>;
}

export interface RatingReplica {
  proc: ServiceProcess;
  clients: RatingClients;
}

/** The [rating] section of a fresh database for the backend. */
export async function ratingDatabase(t: TestContext, backend: Backend): Promise<{ backend: Backend; url: string }> {
  if (backend === "postgresql") return { backend, url: await createTestDatabase(t, "rm_rating") };
  return { backend, url: join(tempDir(t), "rating.sqlite") };
}

/** `replicas` rating processes sharing one database of the backend. */
export async function startRating(
  t: TestContext,
  backend: Backend,
  opts: { replicas?: number; sections?: IniSections } = {},
): Promise<RatingReplica[]> {
  const dir = tempDir(t);
  const db = await ratingDatabase(t, backend);
  const sections: IniSections = { ...opts.sections };
  // Options given for [rating] and [server] are added to the ones every test needs.
  sections.rating = { listen: "127.0.0.1:0", backend: db.backend, url: db.url, refresh_interval: "0.25s", ...opts.sections?.rating };
  sections.server = { grace_period: "2s", readiness_interval: "0.2s", ...opts.sections?.server };
  const configFile = writeConfig(dir, sections);
  const out: RatingReplica[] = [];
  // One after the other: the first one applies the migrations.
  for (let i = 0; i < (opts.replicas ?? 1); i++) {
    const proc = await startService(t, { service: "rating", configFile });
    const conn = connect(t, proc.address);
    out.push({
      proc,
      clients: {
        rating: conn.client(RatingServiceService),
        hashmap: conn.client(HashmapServiceService),
        rules: conn.client(RulesServiceService),
      },
    });
  }
  return out;
}

/** Asserts that the promise fails with the gRPC code and a message starting with `field: ` (or matching). */
export async function rejectsWith(p: Promise<unknown>, code: status, message: string | RegExp): Promise<RemoteCallError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof RemoteCallError)) throw err;
    if (err.code !== code) throw new Error(`expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    if (typeof message === "string" ? !err.details.startsWith(`${message}: `) : !message.test(err.details)) {
      throw new Error(`"${err.details}" does not ${typeof message === "string" ? `start with "${message}: "` : `match ${message}`}`);
    }
    return err;
  }
  throw new Error(`expected ${status[code]} (${String(message)}), but the call succeeded`);
}
