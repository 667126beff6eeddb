/**
 * The SQLite schema. Every table that can grow with the data is WITHOUT
 * ROWID and clustered on its key, so a range of one scope is one seek and a
 * sequential read. Decimal columns are kept as exact integer parts (see
 * ../engine/exact.ts): <name>_i, <name>_f1, <name>_f2 and <name>_x. Times are epoch
 * seconds, except the reprocess task timestamps (milliseconds, to order the
 * tasks created within one second), and adjustments' recorded_at and
 * frames' first_committed_at (milliseconds, compared with as_of).
 */
import type { Migration } from "../../../libs/db/sqlite.js";

const exact = (name: string) => `${name}_i INTEGER NOT NULL, ${name}_f1 INTEGER NOT NULL, ${name}_f2 INTEGER NOT NULL, ${name}_x TEXT`;

const KEY_TYPES: Record<string, string> = { key: "TEXT", value: "TEXT" };

/**
 * A rollup table: its key, the number of points it sums and their exact
 * sums, clustered on the key. It writes exactly the text the tables were
 * first created with: a migration that has run never changes.
 */
const rollup = (table: string, key: string[]) => `CREATE TABLE ${table} (
        ${key.map((c) => `${c} ${KEY_TYPES[c] ?? "INTEGER"} NOT NULL,`).join("\n        ")}
        points INTEGER NOT NULL,
        ${exact("qty")},
        ${exact("price")},
        PRIMARY KEY (${key.join(", ")})
      ) WITHOUT ROWID;`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: "scopes, dictionaries, frames, points, rollups, reprocess tasks",
    sql: `
      CREATE TABLE scopes (
        ref INTEGER PRIMARY KEY,
        scope_id TEXT NOT NULL UNIQUE,
        state INTEGER,
        active INTEGER NOT NULL DEFAULT 1,
        scope_key TEXT NOT NULL DEFAULT '',
        fetcher TEXT NOT NULL DEFAULT '',
        collector TEXT NOT NULL DEFAULT '',
        fencing_token TEXT NOT NULL DEFAULT '0',
        last_error TEXT,
        last_error_at INTEGER,
        active_toggled_at INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE types (ref INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      -- One row per distinct groupby map (canonical JSON, keys sorted): a
      -- resource's map is the same in every period, so points and rollups
      -- carry a small integer instead of the map.
      CREATE TABLE groupsets (ref INTEGER PRIMARY KEY, canon TEXT NOT NULL UNIQUE);
      CREATE TABLE groupset_values (
        groupset_ref INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (groupset_ref, key)
      ) WITHOUT ROWID;
      CREATE INDEX groupset_values_by_value ON groupset_values (key, value);
      -- The catalog of groupby keys seen per type, for refusing unknown keys.
      CREATE TABLE groupby_keys (type_ref INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (type_ref, key)) WITHOUT ROWID;
      -- One row per committed (scope, period): who wrote it, and the digest
      -- that tells a replay from a conflicting commit.
      CREATE TABLE frames (
        scope_ref INTEGER NOT NULL,
        begin INTEGER NOT NULL,
        end INTEGER NOT NULL,
        fencing_token TEXT NOT NULL,
        owner TEXT NOT NULL,
        digest TEXT NOT NULL,
        task_id TEXT,
        points INTEGER NOT NULL,
        committed_at INTEGER NOT NULL,
        PRIMARY KEY (scope_ref, begin)
      ) WITHOUT ROWID;
      CREATE TABLE points (
        scope_ref INTEGER NOT NULL,
        begin INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        unit TEXT NOT NULL,
        ${exact("qty")},
        ${exact("price")},
        metadata TEXT,
        PRIMARY KEY (scope_ref, begin, seq)
      ) WITHOUT ROWID;
      ${rollup("sums_period", ["scope_ref", "begin", "type_ref"])}
      ${rollup("sums_day", ["scope_ref", "day", "type_ref"])}
      ${rollup("sums_day_groupset", ["scope_ref", "day", "type_ref", "groupset_ref"])}
      -- The same per groupby key and value: a query on one key reads only
      -- that key's rows. Points without the key are the day's total minus
      -- these rows (sums_day).
      ${rollup("sums_day_key", ["key", "scope_ref", "day", "type_ref", "value"])}
      CREATE TABLE rolled_days (scope_ref INTEGER NOT NULL, day INTEGER NOT NULL, PRIMARY KEY (scope_ref, day)) WITHOUT ROWID;
      CREATE TABLE reprocess_tasks (
        task_id TEXT PRIMARY KEY,
        scope_ref INTEGER NOT NULL,
        begin INTEGER NOT NULL,
        end INTEGER NOT NULL,
        progress INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX reprocess_tasks_by_scope ON reprocess_tasks (scope_ref, finished_at);
      CREATE INDEX reprocess_tasks_by_time ON reprocess_tasks (created_at, task_id);
    `,
  },
  {
    version: 2,
    name: "fencing epochs, and the operator's last re-seed of a scope's fencing record",
    sql: `
      ALTER TABLE scopes ADD COLUMN fencing_epoch TEXT NOT NULL DEFAULT '0';
      ALTER TABLE scopes ADD COLUMN fencing_reseed_at INTEGER;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_reason TEXT;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_previous_epoch TEXT;
      ALTER TABLE scopes ADD COLUMN fencing_reseed_previous_token TEXT;
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
        frames INTEGER NOT NULL,
        points INTEGER NOT NULL,
        added_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: "unpriced points: per committed period, and their count on the scope",
    sql: `
      ALTER TABLE frames ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN unpriced_points INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN unpriced_periods INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE scopes ADD COLUMN last_unpriced_at INTEGER;
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
      ALTER TABLE scopes ADD COLUMN reset_at INTEGER;
      -- One row per re-rating of a billed (scope, period) that changed its
      -- amounts: the task or the reset behind it, who, why, when (epoch ms).
      CREATE TABLE adjustments (
        ref INTEGER PRIMARY KEY,
        scope_ref INTEGER NOT NULL,
        begin INTEGER NOT NULL,
        task_id TEXT,
        reset_id TEXT,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
      );
      CREATE INDEX adjustments_by_period ON adjustments (scope_ref, begin);
      CREATE INDEX adjustments_by_task ON adjustments (task_id);
      -- Its lines per (type, groupby map): kind 0 the amounts billed before
      -- (shown negated), kind 1 the new ones; scope, period and time copied
      -- from the adjustment so that summaries read them as a source.
      CREATE TABLE adjustment_lines (
        adjustment_ref INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        scope_ref INTEGER NOT NULL,
        begin INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        points INTEGER NOT NULL,
        ${exact("qty")},
        ${exact("price")},
        PRIMARY KEY (adjustment_ref, kind, type_ref, groupset_ref)
      ) WITHOUT ROWID;
      CREATE INDEX adjustment_lines_by_time ON adjustment_lines (scope_ref, recorded_at);
      -- The points billed before an adjustment replaced them.
      CREATE TABLE billed_points (
        adjustment_ref INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type_ref INTEGER NOT NULL,
        groupset_ref INTEGER NOT NULL,
        unit TEXT NOT NULL,
        ${exact("qty")},
        ${exact("price")},
        metadata TEXT,
        PRIMARY KEY (adjustment_ref, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: "the first commit of each period, for amounts as billed at a time",
    sql: `
      -- When the period was first committed (epoch ms, like
      -- adjustments.recorded_at): set once, never moved by a re-commit
      -- (committed_at is the latest). A period stored before this
      -- migration takes the earliest time storage recorded for it: its
      -- earliest adjustment, else its latest commit.
      ALTER TABLE frames ADD COLUMN first_committed_at INTEGER NOT NULL DEFAULT 0;
      UPDATE frames SET first_committed_at = min(
        committed_at * 1000,
        COALESCE((SELECT min(a.recorded_at) FROM adjustments a WHERE a.scope_ref = frames.scope_ref AND a.begin = frames.begin),
          committed_at * 1000)
      );
    `,
  },
  {
    version: 7,
    name: "the end a reprocessing task was created with (its end may go on to the end of the billing month)",
    sql: `
      ALTER TABLE reprocess_tasks ADD COLUMN requested_end INTEGER;
    `,
  },
];
