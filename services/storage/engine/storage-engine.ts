/**
 * The storage engine, one for every database: the behaviour of each
 * operation (engine/*.ts) run through a dialect's transactions. An engine
 * module (sqlite/, postgres/) only provides the Dialect.
 *
 * Every transaction and read goes through `outageAsUnavailable`: the one
 * place where a database outage (connection lost, server restarting,
 * deadlock, serialization failure, SQLite busy) becomes UNAVAILABLE, which
 * callers retry (a commit is safe to send again: a replay is recognized),
 * instead of INTERNAL.
 */
import { outageAsUnavailable } from "../../../libs/db/outage.js";
import type {
  AddFramesInput,
  AddFramesResult,
  AdjustmentLine,
  AdjustmentQuery,
  CommitInput,
  CommitResult,
  ConnectionStats,
  CreateScopeInput,
  CreateTasksInput,
  PointColumnsPage,
  PointColumnsQuery,
  PointPage,
  PointQuery,
  ReseedInput,
  ResetInput,
  ScopeErrorInput,
  ScopeQuery,
  ScopeRecord,
  StorageEngine,
  SummaryQuery,
  SummaryRow,
  TaskQuery,
  TaskRecord,
  UpdateScopeInput,
} from "../domain.js";
import { addFrames } from "./add-frames.js";
import { listAdjustments } from "./adjustments.js";
import { commitPeriod } from "./commit.js";
import type { Dialect } from "./dialect.js";
import { Dictionary } from "./dictionary.js";
import { listPointColumns } from "./point-columns.js";
import { listPoints } from "./points.js";
import { createScope, getScope, listScopes, recordScopeError, reseedFencing, resetScopes, updateScope } from "./scopes.js";
import { SqlSummarySource } from "./sources.js";
import { summarize } from "./summary.js";
import { createTasks, listTasks } from "./tasks.js";
import { verifyRollups } from "./verify-rollups.js";

export class SqlStorageEngine implements StorageEngine {
  private readonly dictionary = new Dictionary();
  private readonly db: Dialect;

  constructor(
    dialect: Dialect,
    private readonly period: number,
  ) {
    const guard = <T>(p: Promise<T>): Promise<T> =>
      p.catch((err: unknown) => {
        throw outageAsUnavailable(err);
      });
    this.db = {
      write: (fn) => guard(dialect.write(fn)),
      snapshot: (fn) => guard(dialect.snapshot(fn)),
      read: (fn) => guard(dialect.read(fn)),
      ping: () => dialect.ping(),
      connections: () => dialect.connections(),
      close: () => dialect.close(),
    };
  }

  ping(): Promise<boolean> {
    return this.db.ping();
  }

  commitPeriod(input: CommitInput): Promise<CommitResult> {
    return commitPeriod(this.db, this.dictionary, input);
  }

  addFrames(input: AddFramesInput, now: Date): Promise<AddFramesResult> {
    return addFrames(this.db, this.dictionary, input, now);
  }

  getScope(scopeId: string): Promise<ScopeRecord | undefined> {
    return this.db.read((sql) => getScope(sql, scopeId));
  }

  listScopes(query: ScopeQuery): Promise<ScopeRecord[]> {
    return this.db.read((sql) => listScopes(sql, query));
  }

  createScope(input: CreateScopeInput, now: Date): Promise<ScopeRecord> {
    return this.db.write((sql) => createScope(sql, input, now));
  }

  updateScope(input: UpdateScopeInput, now: Date): Promise<ScopeRecord> {
    return this.db.write((sql) => updateScope(sql, input, now));
  }

  resetScopes(input: ResetInput, now: Date): Promise<ScopeRecord[]> {
    return this.db.write((sql) => resetScopes(sql, input, now));
  }

  recordScopeError(input: ScopeErrorInput): Promise<void> {
    return this.db.write((sql) => recordScopeError(sql, input));
  }

  reseedFencing(input: ReseedInput, now: Date): Promise<ScopeRecord[]> {
    return this.db.write((sql) => reseedFencing(sql, input, now));
  }

  createTasks(input: CreateTasksInput, now: Date): Promise<TaskRecord[]> {
    return this.db.write((sql) => createTasks(sql, input, now, this.period));
  }

  listTasks(query: TaskQuery): Promise<TaskRecord[]> {
    return this.db.read((sql) => listTasks(sql, query, this.period));
  }

  knownKeys(): Promise<Set<string>> {
    return this.db.read(
      async (sql) => new Set((await sql.all<{ key: string }>("SELECT DISTINCT key FROM groupby_keys")).map((r) => r.key)),
    );
  }

  /**
   * A summary reads several sources and must see them at one instant: a
   * day rolled up between two of its queries would be counted twice.
   */
  summary(query: SummaryQuery): Promise<SummaryRow[]> {
    return this.db.snapshot((sql) => summarize(new SqlSummarySource(sql), query, this.period));
  }

  listAdjustments(query: AdjustmentQuery): Promise<AdjustmentLine[]> {
    return this.db.read((sql) => listAdjustments(sql, query, this.period));
  }

  listPoints(query: PointQuery): Promise<PointPage> {
    return this.db.read((sql) => listPoints(sql, query, this.period));
  }

  listPointColumns(query: PointColumnsQuery): Promise<PointColumnsPage> {
    return this.db.read((sql) => listPointColumns(sql, query));
  }

  verifyRollups(): Promise<string[]> {
    return this.db.read((sql) => verifyRollups(sql));
  }

  connections(): ConnectionStats {
    return this.db.connections();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
