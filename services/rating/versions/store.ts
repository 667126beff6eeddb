/**
 * SQL on price_list_drafts and price_list_versions, the same for SQLite and
 * PostgreSQL. A draft changes no price: its writes are single statements
 * outside the version counter (no replica reloads for them). A version is
 * written only by publish.ts, inside the write transaction that changes
 * the price list, so a version row exists exactly when its prices do.
 */
import { AlreadyExistsError, NotFoundError } from "../../../libs/errors/errors.js";
import { isUniqueViolation, num, type SqlExecutor } from "../store/sql.js";
import type { PriceList } from "./content.js";
import type { Change } from "./diff.js";

export interface Draft {
  name: string;
  content: PriceList;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface Version {
  number: number;
  draft: string;
  publishedBy: string;
  publishedAt: number;
  effective: number;
  summary: string;
  content: PriceList;
  changes: Change[];
}

const DRAFT_COLUMNS = "name, content, created_by, created_ms, updated_ms";
const VERSION_INFO = "number, draft, published_by, published_ms, effective_ms, summary";

function readDraft(r: Record<string, unknown>, withContent: boolean): Draft {
  return {
    name: String(r.name),
    content: withContent ? (JSON.parse(String(r.content)) as PriceList) : { groups: [], services: [], rules: [] },
    createdBy: String(r.created_by),
    createdAt: num(r.created_ms),
    updatedAt: num(r.updated_ms),
  };
}

function readVersion(r: Record<string, unknown>): Version {
  return {
    number: num(r.number),
    draft: String(r.draft),
    publishedBy: String(r.published_by),
    publishedAt: num(r.published_ms),
    effective: num(r.effective_ms),
    summary: String(r.summary),
    content: r.content === undefined ? { groups: [], services: [], rules: [] } : (JSON.parse(String(r.content)) as PriceList),
    changes: r.changes === undefined ? [] : (JSON.parse(String(r.changes)) as Change[]),
  };
}

export async function insertDraft(db: SqlExecutor, d: Draft): Promise<void> {
  try {
    await db.run(`INSERT INTO price_list_drafts (${DRAFT_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
      d.name,
      JSON.stringify(d.content),
      d.createdBy,
      d.createdAt,
      d.updatedAt,
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AlreadyExistsError(`a draft named ${JSON.stringify(d.name)} already exists`);
    throw err;
  }
}

export async function mustDraft(db: SqlExecutor, name: string): Promise<Draft> {
  const [row] = await db.all(`SELECT ${DRAFT_COLUMNS} FROM price_list_drafts WHERE name = ?`, [name]);
  if (row === undefined) throw new NotFoundError("name: draft", name);
  return readDraft(row, true);
}

export async function listDrafts(db: SqlExecutor): Promise<Draft[]> {
  return (await db.all(`SELECT name, created_by, created_ms, updated_ms FROM price_list_drafts ORDER BY name`)).map((r) =>
    readDraft(r, false),
  );
}

export async function replaceDraft(db: SqlExecutor, name: string, content: PriceList, now: number): Promise<void> {
  const n = await db.run("UPDATE price_list_drafts SET content = ?, updated_ms = ? WHERE name = ?", [JSON.stringify(content), now, name]);
  if (n === 0) throw new NotFoundError("name: draft", name);
}

export async function deleteDraft(db: SqlExecutor, name: string): Promise<void> {
  const n = await db.run("DELETE FROM price_list_drafts WHERE name = ?", [name]);
  if (n === 0) throw new NotFoundError("name: draft", name);
}

export async function insertVersion(tx: SqlExecutor, v: Version): Promise<void> {
  await tx.run(`INSERT INTO price_list_versions (${VERSION_INFO}, content, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
    v.number,
    v.draft,
    v.publishedBy,
    v.publishedAt,
    v.effective,
    v.summary,
    JSON.stringify(v.content),
    JSON.stringify(v.changes),
  ]);
}

export async function lastVersionNumber(tx: SqlExecutor): Promise<number> {
  const [row] = await tx.all<{ n: unknown }>("SELECT MAX(number) AS n FROM price_list_versions");
  return row?.n === null || row?.n === undefined ? 0 : num(row.n);
}

/** Newest first, at most `limit` versions numbered below `before`. */
export async function listVersions(db: SqlExecutor, before: number, limit: number): Promise<Version[]> {
  return (
    await db.all(`SELECT ${VERSION_INFO} FROM price_list_versions WHERE number < ? ORDER BY number DESC LIMIT ?`, [before, limit])
  ).map(readVersion);
}

export async function getVersion(db: SqlExecutor, number: number): Promise<Version | undefined> {
  const [row] = await db.all(`SELECT ${VERSION_INFO}, content, changes FROM price_list_versions WHERE number = ?`, [number]);
  return row === undefined ? undefined : readVersion(row);
}

export async function mustVersion(db: SqlExecutor, number: number): Promise<Version> {
  const v = await getVersion(db, number);
  if (v === undefined) throw new NotFoundError("number: price-list version", String(number));
  return v;
}

/** The newest version published from a draft of this name, if any. */
export async function lastVersionFrom(db: SqlExecutor, draft: string): Promise<Version | undefined> {
  const [row] = await db.all(`SELECT ${VERSION_INFO} FROM price_list_versions WHERE draft = ? ORDER BY number DESC LIMIT 1`, [draft]);
  return row === undefined ? undefined : readVersion(row);
}

/** When each version takes effect, for the snapshot (which version is in force at an instant). */
export async function versionEffectives(tx: SqlExecutor): Promise<Array<{ number: number; effective: number }>> {
  return (await tx.all("SELECT number, effective_ms FROM price_list_versions ORDER BY number")).map((r) => ({
    number: num(r.number),
    effective: num(r.effective_ms),
  }));
}

/**
 * The version in force at `at`: the newest whose effective date is not after
 * it (a publish replaces the whole price list from its effective date on, so
 * a later publish wins over an earlier one wherever both are effective); 0
 * when none is.
 */
export function versionAt(versions: ReadonlyArray<{ number: number; effective: number }>, at: number): number {
  let best = 0;
  for (const v of versions) if (v.effective <= at && v.number > best) best = v.number;
  return best;
}
