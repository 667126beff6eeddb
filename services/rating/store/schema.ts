/**
 * The rating service's own tables, for each engine: the version counter,
 * module states, hashmap price lists, CEL price rules.
 *
 * Costs and levels are TEXT holding the exact decimal string they were
 * given in (a NUMERIC column would pad "1.337" to 28 decimals on
 * PostgreSQL and store a float on SQLite; either changes what a price
 * prints as). Instants are epoch milliseconds. Global rules have a NULL
 * tenant_id; the unique indexes use COALESCE so that NULLs compare equal.
 */
import type { Migration } from "../../../libs/db/migration.js";

function tables(engine: "sqlite" | "postgresql"): string {
  const seq = engine === "sqlite" ? "seq INTEGER PRIMARY KEY AUTOINCREMENT" : "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
  const ms = engine === "sqlite" ? "INTEGER" : "BIGINT";
  return `
    CREATE TABLE rating_version (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version ${ms} NOT NULL
    );
    INSERT INTO rating_version (id, version) VALUES (1, 1);

    CREATE TABLE rating_modules (
      name TEXT PRIMARY KEY,
      enabled INTEGER NOT NULL,
      priority INTEGER NOT NULL
    );

    CREATE TABLE hashmap_services (
      ${seq},
      service_id TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL UNIQUE
    );

    CREATE TABLE hashmap_fields (
      ${seq},
      field_id TEXT NOT NULL UNIQUE,
      service_id TEXT NOT NULL REFERENCES hashmap_services (service_id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      UNIQUE (service_id, name)
    );

    CREATE TABLE hashmap_groups (
      ${seq},
      group_id TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL UNIQUE
    );

    CREATE TABLE hashmap_mappings (
      ${seq},
      mapping_id TEXT NOT NULL UNIQUE,
      service_id TEXT REFERENCES hashmap_services (service_id) ON DELETE CASCADE,
      field_id TEXT REFERENCES hashmap_fields (field_id) ON DELETE CASCADE,
      value TEXT,
      map_type TEXT NOT NULL CHECK (map_type IN ('flat', 'rate')),
      cost TEXT NOT NULL,
      group_id TEXT REFERENCES hashmap_groups (group_id) ON DELETE SET NULL,
      tenant_id TEXT,
      start_ms ${ms} NOT NULL,
      end_ms ${ms},
      name TEXT,
      description TEXT NOT NULL DEFAULT '',
      created_ms ${ms} NOT NULL,
      deleted_ms ${ms},
      CHECK ((service_id IS NULL) <> (field_id IS NULL))
    );
    CREATE INDEX hashmap_mappings_parent ON hashmap_mappings (service_id, field_id);
    CREATE UNIQUE INDEX hashmap_mappings_live_name ON hashmap_mappings (name) WHERE deleted_ms IS NULL AND name IS NOT NULL;

    CREATE TABLE hashmap_thresholds (
      ${seq},
      threshold_id TEXT NOT NULL UNIQUE,
      service_id TEXT REFERENCES hashmap_services (service_id) ON DELETE CASCADE,
      field_id TEXT REFERENCES hashmap_fields (field_id) ON DELETE CASCADE,
      level TEXT NOT NULL,
      level_key TEXT NOT NULL,
      map_type TEXT NOT NULL CHECK (map_type IN ('flat', 'rate')),
      cost TEXT NOT NULL,
      group_id TEXT REFERENCES hashmap_groups (group_id) ON DELETE SET NULL,
      tenant_id TEXT,
      CHECK ((service_id IS NULL) <> (field_id IS NULL))
    );
    CREATE UNIQUE INDEX hashmap_thresholds_level ON hashmap_thresholds (COALESCE(service_id, field_id), COALESCE(tenant_id, ''), level_key);

    CREATE TABLE price_rules (
      ${seq},
      rule_id TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      condition TEXT NOT NULL,
      expression TEXT NOT NULL,
      rule_order INTEGER NOT NULL,
      tenant_id TEXT,
      start_ms ${ms} NOT NULL,
      end_ms ${ms},
      description TEXT NOT NULL DEFAULT '',
      created_ms ${ms} NOT NULL,
      deleted_ms ${ms}
    );
    CREATE UNIQUE INDEX price_rules_live_name ON price_rules (name) WHERE deleted_ms IS NULL;
  `;
}

/**
 * Versioned price lists (versions/): drafts, and every published version
 * kept whole (content and changes as JSON). Publishing end-dates a named
 * mapping or rule and starts its successor under the same name, so a name
 * is unique among the live rules that have no end.
 */
function priceListVersions(engine: "sqlite" | "postgresql"): string {
  const ms = engine === "sqlite" ? "INTEGER" : "BIGINT";
  return `
    CREATE TABLE price_list_drafts (
      name TEXT PRIMARY KEY,
      content TEXT NOT NULL,
      created_by TEXT NOT NULL,
      created_ms ${ms} NOT NULL,
      updated_ms ${ms} NOT NULL
    );

    CREATE TABLE price_list_versions (
      number ${ms} PRIMARY KEY,
      draft TEXT NOT NULL,
      published_by TEXT NOT NULL,
      published_ms ${ms} NOT NULL,
      effective_ms ${ms} NOT NULL,
      summary TEXT NOT NULL,
      content TEXT NOT NULL,
      changes TEXT NOT NULL
    );

    DROP INDEX hashmap_mappings_live_name;
    CREATE UNIQUE INDEX hashmap_mappings_live_name ON hashmap_mappings (name) WHERE deleted_ms IS NULL AND end_ms IS NULL AND name IS NOT NULL;
    DROP INDEX price_rules_live_name;
    CREATE UNIQUE INDEX price_rules_live_name ON price_rules (name) WHERE deleted_ms IS NULL AND end_ms IS NULL;
  `;
}

/** Tiered and time-of-use prices on mappings (modules/hashmap/tiers.ts), as JSON documents. */
const MAPPING_PRICE_SHAPES = `
  ALTER TABLE hashmap_mappings ADD COLUMN tiers TEXT;
  ALTER TABLE hashmap_mappings ADD COLUMN time_of_use TEXT;
`;

export const sqliteMigrations: Migration[] = [
  { version: 1, name: "rating tables", sql: tables("sqlite") },
  { version: 2, name: "price list versions", sql: priceListVersions("sqlite") },
  { version: 3, name: "mapping tiers and time of use", sql: MAPPING_PRICE_SHAPES },
];
export const postgresMigrations: Migration[] = [
  { version: 1, name: "rating tables", sql: tables("postgresql") },
  { version: 2, name: "price list versions", sql: priceListVersions("postgresql") },
  { version: 3, name: "mapping tiers and time of use", sql: MAPPING_PRICE_SHAPES },
];

/** The migrations table of the rating service (storage keeps its own, so both can share a database). */
export const MIGRATIONS_TABLE = "rating_migrations";
