/**
 * The engines storage can run on, by the `[storage] backend` option: each
 * is the one storage engine (engine/) over that database's dialect.
 */
import type { StorageEngine } from "./domain.js";
import { openPostgresEngine } from "./postgres/dialect.js";
import { openSqliteEngine } from "./sqlite/dialect.js";

export interface EngineOptions {
  backend: string;
  /** The SQLite file, or the postgresql:// URL. */
  url: string;
  periodSeconds: number;
  /** PostgreSQL connections of this process. */
  poolSize?: number;
  /** SQLite page cache in MiB. */
  cacheMiB?: number;
}

export async function openEngine(o: EngineOptions): Promise<StorageEngine> {
  switch (o.backend) {
    case "postgresql":
      return openPostgresEngine(o.url, { periodSeconds: o.periodSeconds, ...(o.poolSize === undefined ? {} : { poolSize: o.poolSize }) });
    case "sqlite":
      return openSqliteEngine(o.url, { periodSeconds: o.periodSeconds, ...(o.cacheMiB === undefined ? {} : { cacheMiB: o.cacheMiB }) });
    default:
      throw new Error(`unknown storage backend ${JSON.stringify(o.backend)}`);
  }
}
