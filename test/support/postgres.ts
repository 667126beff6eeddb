/**
 * A PostgreSQL database of its own for each test: created on the server
 * that scripts/ensure-postgres.sh found or started (RATEMESH_TEST_PG_URL),
 * dropped when the test ends.
 */
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import pg from "pg";

export function adminUrl(): string {
  return process.env.RATEMESH_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Runs one statement on the admin database (CREATE/DROP DATABASE and the like). */
export async function adminQuery(sql: string): Promise<void> {
  await admin((c) => c.query(sql));
}

/** Creates an empty database and returns its URL; it is dropped after the test. */
export async function createTestDatabase(t: TestContext, prefix = "rm_test"): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  t.after(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
