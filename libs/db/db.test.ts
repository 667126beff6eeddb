import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/support/mesh.js";
import { createTestDatabase } from "../../test/support/postgres.js";
import type { Migration } from "./migration.js";
import { createPgPool, migratePostgres, withTransaction } from "./postgres.js";
import { migrateSqlite, openSqlite } from "./sqlite.js";

const migrations: Migration[] = [
  { version: 1, name: "t", sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)" },
  { version: 2, name: "t.w", sql: "ALTER TABLE t ADD COLUMN w TEXT" },
];

describe("SQLite migrations", () => {
  it("apply in order from an empty database, once, and refuse a newer database", (t) => {
    const db = openSqlite(join(tempDir(t), "x.sqlite"));
    t.after(() => db.close());
    assert.deepEqual(migrateSqlite(db, migrations.slice(0, 1), "m"), [1]);
    assert.deepEqual(migrateSqlite(db, migrations, "m"), [2]);
    assert.deepEqual(migrateSqlite(db, migrations, "m"), []);
    db.prepare("INSERT INTO t (id, v, w) VALUES (1, 'a', 'b')").run();
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    assert.throws(() => migrateSqlite(db, migrations.slice(0, 1), "m"), /schema version 2 .* newer than this program knows \(1\)/);
  });

  it("roll back a failing migration with its version record", (t) => {
    const db = openSqlite(join(tempDir(t), "y.sqlite"));
    t.after(() => db.close());
    assert.throws(() => migrateSqlite(db, [{ version: 1, name: "bad", sql: "CREATE TABLE a (x); CREATE TABLE nope (" }], "m"));
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'a'").get() as { n: number }).n, 0);
    assert.deepEqual(migrateSqlite(db, migrations, "m"), [1, 2]);
  });
});

describe("PostgreSQL migrations", () => {
  it("apply once even when two replicas start together, and refuse a newer database", async (t) => {
    const url = await createTestDatabase(t);
    const a = createPgPool(url, { max: 2 });
    const b = createPgPool(url, { max: 2 });
    t.after(() => Promise.all([a.end(), b.end()]));
    const [ra, rb] = await Promise.all([migratePostgres(a, migrations, "m"), migratePostgres(b, migrations, "m")]);
    assert.deepEqual([...ra, ...rb].sort(), [1, 2]);
    await withTransaction(a, (c) => c.query("INSERT INTO t (id, v, w) VALUES (1, 'a', 'b')"));
    await assert.rejects(
      withTransaction(a, async (c) => {
        await c.query("INSERT INTO t (id, v) VALUES (2, 'x')");
        throw new Error("abort");
      }),
      /abort/,
    );
    assert.equal((await a.query("SELECT count(*)::int AS n FROM t")).rows[0].n, 1, "the aborted transaction left nothing");
    await assert.rejects(migratePostgres(a, migrations.slice(0, 1), "m"), /schema version 2 \(m\) is newer than this program knows \(1\)/);
  });
});
