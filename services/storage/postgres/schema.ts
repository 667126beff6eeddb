/**
 * The PostgreSQL schema: the same tables as the SQLite engine, with
 * NUMERIC for every quantity, price and sum (exact; pg returns them as
 * strings, never as JS numbers) and BIGINT epoch seconds for times (epoch
 * milliseconds for the reprocess task timestamps, adjustments' recorded_at
 * and frames' first_committed_at).
 */
import type { Migration } from "../../../libs/db/migration.js";

const KEY_TYPES: Record<string, string> = { begin: "BIGINT", day: "BIGINT", key: "TEXT", value: "TEXT" };

/**
 * A rollup table: its key, the number of points it sums and their exact
 * sums. It writes exactly the text the tables were first created with: a
 * migration that has run never changes.
 */
const rollup = (table: string, key: string[]) => `CREATE TABLE ${table} (
        ${key.map((c) => `${c} ${KEY_TYPES[c] ?? "INTEGER"} NOT NULL,`).join("\n        ")}
        points BIGINT NOT NULL,
        qty NUMERIC NOT NULL,
        price NUMERIC NOT NULL,
        PRIMARY KEY (${key.join(", ")})
      );`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: "scopes, dictionaries, frames, points, rollups, reprocess tasks",
    sql: `
      CREATE TABLE scopes (
        ref SERIAL PRIMARY KEY,
        scope_id TEXT NOT NULL UNIQUE,
        state BIGINT,
        active BOOLEAN NOT NULL DEFAULT true,
        scope_key TEXT NOT NULL DEFAULT '',
        fetcher TEXT NOT NULL DEFAULT '',
        collector TEXT NOT NULL DEFAULT '',
        fencing_token BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        last_error_at BIGINT,
        active_toggled_at BIGINT,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE types (ref SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      -- One row per distinct groupby map; digest = sha256 of canon (a long
      -- map would not fit a btree entry).
      CREATE TABLE groupsets (ref SERIAL PRIMARY KEY, digest TEXT NOT NULL UNIQUE, canon TEXT NOT NULL);
      CREATE TABLE groupset_values (
        groupset_ref INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (groupset_ref, key)
      );
      CREATE INDEX groupset_values_by_value ON groupset_values (key, value, groupset_ref);
      CREATE TABLE groupby_keys (type_ref INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (type_ref, key));
      CREATE TABLE frames (
        scope_ref INTEGER NOT NULL,
        begin BIGINT NOT NULL,
        "end" BIGINT NOT NULL,
        fencing_token BIGINT NOT NULL,
        owner TEXT NOT NULL,
        digest TEXT NOT NULL,
        task_id TEXT,
        points INTEGER NOT NULL,
        committed_at BIGINT NOT NULL,
        PRIMARY KEY (scope_ref, begin)
      );
      CREATE TABLE points (
        scope_ref INTEGER NOT NULL,
        begin BIGINT NOT NULL,
        seq INTEGER NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        unit TEXT NOT NULL,
        qty NUMERIC NOT NULL,
        price NUMERIC NOT NULL,
        metadata TEXT,
        PRIMARY KEY (scope_ref, begin, seq)
      );
      ${rollup("sums_period", ["scope_ref", "begin", "type_ref"])}
      ${rollup("sums_day", ["scope_ref", "day", "type_ref"])}
      ${rollup("sums_day_groupset", ["scope_ref", "day", "type_ref", "groupset_ref"])}
      ${rollup("sums_day_key", ["key", "scope_ref", "day", "type_ref", "value"])}
      CREATE TABLE rolled_days (scope_ref INTEGER NOT NULL, day BIGINT NOT NULL, PRIMARY KEY (scope_ref, day));
      CREATE TABLE reprocess_tasks (
        task_id TEXT PRIMARY KEY,
        scope_ref INTEGER NOT NULL,
        begin BIGINT NOT NULL,
        "end" BIGINT NOT NULL,
        progress BIGINT NOT NULL,
        reason TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        finished_at BIGINT
      );
      CREATE INDEX reprocess_tasks_by_scope ON reprocess_tasks (scope_ref, finished_at);
      CREATE INDEX reprocess_tasks_by_time ON reprocess_tasks (created_at, task_id);
    `,
  },
  {
    version: 2,
    name: "fencing epochs, and the operator's last re-seed of a scope's fencing record",
    sql: `
      ALTER TABLE scopes ADD COLUMN fencing_epoch BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_at BIGINT;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_reason TEXT;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_previous_epoch BIGINT;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_previous_token BIGINT;
    `,
  },
  {
    version: 3,
    name: "the idempotency keys of points added to stored periods (AddDataFrames)",
    sql: `
      -- One row per AddDataFrames request sent with a key: a retry with
      -- the same key and digest is a replay, nothing written twice.
      CREATE TABLE frame_additions (
        idempotency_key TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        frames BIGINT NOT NULL,
        points BIGINT NOT NULL,
        added_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: "unpriced points: per committed period, and their count on the scope",
    sql: `
      ALTER TABLE frames ADD COLUMN unpriced BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN unpriced_points BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN unpriced_periods BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN last_unpriced_at BIGINT;
    `,
  },
  {
    version: 5,
    name: "re-rating as signed adjustments: billed history, adjustment lines, the actor of tasks and resets",
    sql: `
      ALTER TABLE reprocess_tasks ADD COLUMN actor TEXT NOT NULL DEFAULT '';
      ALTER TABLE scopes ADD COLUMN reset_id TEXT;
      ALTER TABLE scopes ADD COLUMN reset_actor TEXT;
      ALTER TABLE scopes ADD COLUMN reset_reason TEXT;
      ALTER TABLE scopes ADD COLUMN reset_at BIGINT;
      CREATE TABLE adjustments (
        ref BIGSERIAL PRIMARY KEY,
        scope_ref INTEGER NOT NULL,
        begin BIGINT NOT NULL,
        task_id TEXT,
        reset_id TEXT,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        recorded_at BIGINT NOT NULL
      );
      CREATE INDEX adjustments_by_period ON adjustments (scope_ref, begin);
      CREATE INDEX adjustments_by_task ON adjustments (task_id);
      CREATE TABLE adjustment_lines (
        adjustment_ref BIGINT NOT NULL,
        kind INTEGER NOT NULL,
        scope_ref INTEGER NOT NULL,
        begin BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        points BIGINT NOT NULL,
        qty NUMERIC NOT NULL,
        price NUMERIC NOT NULL,
        PRIMARY KEY (adjustment_ref, kind, type_ref, groupset_ref)
      );
      CREATE INDEX adjustment_lines_by_time ON adjustment_lines (scope_ref, recorded_at);
      CREATE TABLE billed_points (
        adjustment_ref BIGINT NOT NULL,
        seq INTEGER NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        unit TEXT NOT NULL,
        qty NUMERIC NOT NULL,
        price NUMERIC NOT NULL,
        metadata TEXT,
        PRIMARY KEY (adjustment_ref, seq)
      );
    `,
  },
  {
    version: 6,
    name: "the first commit of each period, for amounts as billed at a time",
    sql: `
      -- See the SQLite schema: epoch ms, set once by the first commit.
      ALTER TABLE frames ADD COLUMN first_committed_at BIGINT;
      UPDATE frames f SET first_committed_at = LEAST(
        f.committed_at * 1000,
        (SELECT min(a.recorded_at) FROM adjustments a WHERE a.scope_ref = f.scope_ref AND a.begin = f.begin)
      );
      ALTER TABLE frames ALTER COLUMN first_committed_at SET NOT NULL;
    `,
  },
  {
    version: 7,
    name: "the end a reprocessing task was created with (its end may go on to the end of the billing month)",
    sql: `
      ALTER TABLE reprocess_tasks ADD COLUMN requested_end BIGINT;
    `,
  },
];
