/**
 * Which database errors mean "the database is not there right now", as
 * opposed to a bug or a statement it refuses: the connection lost or
 * refused, the server shutting down or starting, too many connections, a
 * deadlock or a serialization failure (the transaction was rolled back and
 * may simply be run again), SQLite's file busy or locked, or an I/O error.
 * A service maps these to UNAVAILABLE, which its callers retry.
 */
import { UnavailableError } from "../errors/errors.js";

/** PostgreSQL SQLSTATE classes and codes of an outage. */
const PG_CLASSES = ["08", "53", "57P"];
const PG_CODES = new Set(["40001", "40P01", "55P03", "58000", "58030"]);
/** Node's socket errors. */
const NET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** SQLite's extended result codes start with their primary code's name. */
const SQLITE_PREFIXES = ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL"];
/** What pg says when the connection goes away without a code. */
const PG_MESSAGES = [/^Connection terminated/, /connection error and is not queryable/, /timeout exceeded when trying to connect/];

export function isOutage(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (PG_CODES.has(code) || NET_CODES.has(code)) return true;
    if (code.length === 5 && PG_CLASSES.some((c) => code.startsWith(c))) return true;
    if (SQLITE_PREFIXES.some((p) => code.startsWith(p))) return true;
  }
  const message = err instanceof Error ? err.message : "";
  return PG_MESSAGES.some((m) => m.test(message));
}

/** The error to throw for `err`: UnavailableError for an outage (the cause kept, never sent), else `err` itself. */
export function outageAsUnavailable(err: unknown): unknown {
  if (!isOutage(err)) return err;
  const code = (err as { code?: unknown }).code;
  return new UnavailableError(`the database is unavailable${typeof code === "string" ? ` (${code})` : ""}; try again`, { cause: err });
}
