/**
 * CloudKitty's request parameters, read the way it reads them: v2 lists
 * are repeated or comma-separated (`groupby=a,b&groupby=c`), filters are
 * `key:value` pairs, booleans come as Python writes them (`True`), and
 * timestamps are ISO 8601. A bad value is a 400 naming the parameter.
 */
import { badRequest } from "./errors.js";
import { parseIsoTime } from "./time.js";

/** JSON schema of a query parameter given once or repeated: fastify turns a single value into a list. */
export const stringList = { type: "array", items: { type: "string" } } as const;

/** The query of a v2 listing: these parameters, each given once or repeated, then CloudKitty's offset and limit. */
export interface PagedQuery {
  offset: number;
  limit: number;
}

/** The route schema of a v2 listing's query: `names` as string lists, offset (default 0) and limit (default 100). */
export function pagedQuerySchema(...names: string[]) {
  const lists = Object.fromEntries(names.map((name) => [name, stringList]));
  return {
    querystring: {
      type: "object",
      properties: { ...lists, offset: { type: "integer", minimum: 0, default: 0 }, limit: { type: "integer", minimum: 1, default: 100 } },
    },
  } as const;
}

/** A v2 multi-valued parameter: every value, comma-separated parts split. */
export function multi(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(",")).filter((v) => v !== "");
}

/** A v2 parameter given at most once. */
export function single(values: readonly string[] | string | undefined, name: string): string | undefined {
  if (values === undefined) return undefined;
  if (typeof values === "string") return values;
  if (values.length > 1) throw badRequest(`Invalid parameter ${name}: length of value must be 1`);
  return values[0];
}

/**
 * `key:value` filters. With `unique` (v2 dataframes) a key may appear once;
 * otherwise (v2 summary) repeated keys collect their values, which any of
 * them matches.
 */
export function keyValues(values: readonly string[] | undefined, name: string, unique: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const token of multi(values)) {
    const parts = token.split(":");
    if (parts.length !== 2 || parts[0] === "") throw badRequest(`Invalid parameter ${name}: invalid key:value association ${token}`);
    const [key, value] = parts as [string, string];
    const seen = out.get(key);
    if (seen !== undefined && unique) throw badRequest(`Invalid parameter ${name}: key ${key} already provided`);
    out.set(key, [...(seen ?? []), value]);
  }
  return out;
}

/** A timestamp parameter (query or body field). */
export function timestamp(value: unknown, name: string): Date | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const d = typeof value === "string" ? parseIsoTime(value) : undefined;
  if (d === undefined) throw badRequest(`Invalid parameter ${name}: ${JSON.stringify(value)} is not an ISO 8601 timestamp`);
  return d;
}

/** A boolean as WSME and voluptuous read it: true/false in any case, 1/0, yes/no, on/off. */
export function boolParam(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null || value === "") return fallback;
  if (typeof value === "boolean") return value;
  const v = String(value).toLowerCase();
  if (["true", "1", "yes", "on", "y", "t"].includes(v)) return true;
  if (["false", "0", "no", "off", "n", "f"].includes(v)) return false;
  throw badRequest(`Invalid parameter ${name}: ${JSON.stringify(value)} is not a boolean`);
}
