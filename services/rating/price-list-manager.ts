/**
 * What the managers of price lists (hashmap, CEL rules) share: the database,
 * the clock, and how a change is written. A change runs its checks and
 * writes in one write transaction (which bumps the version, store/sql.ts);
 * if a unique constraint still refuses a row (a replica slipped in between
 * the checks and the write), the request is ALREADY_EXISTS; after the
 * commit, onChange gets the new version so that this replica prices with it
 * before answering.
 */
import { AlreadyExistsError } from "../../libs/errors/errors.js";
import type { Clock } from "../../libs/time/period.js";
import { isUniqueViolation, type SqlDatabase, type SqlExecutor } from "./store/sql.js";

/** Called with the new version after every committed change. */
export type OnChange = (version: number) => Promise<void>;

export abstract class PriceListManager {
  constructor(
    protected readonly db: SqlDatabase,
    protected readonly clock: Clock,
    private readonly onChange: OnChange,
  ) {}

  /** The ALREADY_EXISTS message when a unique constraint refuses what the checks let through. */
  protected abstract readonly conflict: string;

  protected async write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let out: { result: T; version: number };
    try {
      out = await this.db.write(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AlreadyExistsError(this.conflict);
      throw err;
    }
    await this.onChange(out.version);
    return out.result;
  }
}
