/**
 * What the versions tests over gRPC start from: a rating process on a
 * database of its own, which the test may also open in process (openDb),
 * with its clients and a PriceListService client.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { PriceListServiceService } from "../../../libs/gen/ratemesh/v1/pricelist.js";
import { connect } from "../../../test/support/mesh.js";
import { type Backend, ratingDatabase, startRating } from "../../../test/support/rating.js";
import { PostgresRatingDatabase } from "../store/postgres.js";
import type { SqlDatabase } from "../store/sql.js";
import { SqliteRatingDatabase } from "../store/sqlite.js";

export async function openDb(db: { backend: Backend; url: string }): Promise<SqlDatabase> {
  return db.backend === "postgresql" ? PostgresRatingDatabase.open(db.url) : new SqliteRatingDatabase(db.url);
}

export async function startWithPriceLists(t: TestContext, backend: Backend) {
  const db = await ratingDatabase(t, backend);
  const [r] = await startRating(t, backend, { sections: { rating: { backend: db.backend, url: db.url } } });
  assert.ok(r !== undefined);
  return { db, r, lists: connect(t, r.proc.address).client(PriceListServiceService) };
}
