/**
 * SQLite's side of the commit's loop over points: rows go in batches of
 * POINT_BATCH per INSERT, one call into SQLite per batch instead of per
 * row (about twice as fast), with the parameters filled in place.
 */
import type { Statement } from "better-sqlite3";
import type { PointRows } from "../engine/dialect.js";
import type { Parts } from "../engine/exact.js";
import { EXACT_COLUMNS } from "./exact-parts.js";

const POINT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const POINT_COLUMNS = 15;
const INSERT_POINTS = `INSERT INTO points (scope_ref, begin, seq, type_ref, groupset_ref, unit, ${EXACT_COLUMNS}, metadata) VALUES`;
const POINT_BATCH = 32;

export class SqlitePointRows implements PointRows {
  private readonly args: unknown[] = new Array(POINT_COLUMNS * POINT_BATCH);
  private k = 0;

  private readonly batch: Statement<unknown[]>;
  private readonly one: Statement<unknown[]>;

  constructor(
    prepare: (sql: string) => Statement<unknown[]>,
    private readonly scopeRef: number,
    private readonly begin: number,
  ) {
    this.batch = prepare(`${INSERT_POINTS} ${Array(POINT_BATCH).fill(POINT_ROW).join(", ")}`);
    this.one = prepare(`${INSERT_POINTS} ${POINT_ROW}`);
  }

  add(seq: number, typeRef: number, groupsetRef: number, p: { unit: string; metadataJson: string }, q: Parts, pr: Parts): void {
    const a = this.args;
    const k = this.k;
    a[k] = this.scopeRef;
    a[k + 1] = this.begin;
    a[k + 2] = seq;
    a[k + 3] = typeRef;
    a[k + 4] = groupsetRef;
    a[k + 5] = p.unit;
    a[k + 6] = q.i;
    a[k + 7] = q.f1;
    a[k + 8] = q.f2;
    a[k + 9] = q.x;
    a[k + 10] = pr.i;
    a[k + 11] = pr.f1;
    a[k + 12] = pr.f2;
    a[k + 13] = pr.x;
    a[k + 14] = p.metadataJson === "" ? null : p.metadataJson;
    this.k = k + POINT_COLUMNS;
    if (this.k === a.length) {
      this.batch.run(a);
      this.k = 0;
    }
  }

  async flush(): Promise<void> {
    for (let j = 0; j < this.k; j += POINT_COLUMNS) this.one.run(this.args.slice(j, j + POINT_COLUMNS));
    this.k = 0;
  }
}
