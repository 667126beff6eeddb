/**
 * Storage's domain inputs and records: what the gRPC layer hands to an
 * engine after validation. Generated message types stop at api.ts; times
 * are Dates here and epoch seconds inside the engines.
 */
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import type { Decimal } from "../../libs/money/decimal.js";

/** A validated point, with the serialised forms the engines store and the digest covers. */
export interface StoredPoint {
  type: string;
  unit: string;
  /** Plain exact decimal text ("12.5", "-0.001"), as validated. */
  qty: string;
  price: string;
  groupby: Record<string, string>;
  /** JSON of metadata, "" when there is none. */
  metadataJson: string;
}

export interface CommitInput {
  scopeId: string;
  begin: Date;
  end: Date;
  points: StoredPoint[];
  /** undefined: the scope has no state yet. For a reprocessing commit, the task's progress. */
  expectedState: Date | undefined;
  fencingToken: bigint;
  /** The coordinator epoch of the token (0: none given). */
  fencingEpoch: bigint;
  owner: string;
  /** Digest of the request, to tell a replay from a conflicting commit. */
  digest: string;
  /** Set for a reprocessing commit: the period is replaced and the task advances. */
  reprocessTaskId: string | undefined;
  /** The latest period end storage's clock allows now (see rules.ts latestCommittable); undefined: not checked. */
  notAfter?: Date | undefined;
  scopeKey: string;
  fetcher: string;
  collector: string;
  /** Points of the frame no rule priced. */
  unpricedPoints: number;
  /**
   * For a reprocessing commit whose prices depend on the month-to-date
   * quantity (tiered): the billing time zone, and the task goes on to the end
   * of that billing month (engine/tasks.ts toMonthEnd). Undefined: the
   * task's window as it is.
   */
  rerateRestOfMonthIn?: string | undefined;
}

export interface CommitResult {
  /** The scope's state, or the task's progress for a reprocessing commit. */
  state: Date;
  replayed: boolean;
  pointsWritten: number;
}

/** Points appended to stored periods (AddDataFrames): nothing rated, no state moved. */
export interface AddFramesInput {
  /** Validated frames, in the request's order; several may name the same (scope, period). */
  frames: Array<{ scopeId: string; begin: Date; points: StoredPoint[] }>;
  /** undefined: the request is applied each time it is sent. */
  idempotencyKey: string | undefined;
  /** Digest of the request: a replay under the same key must be this very request. */
  digest: string;
  /** Recorded on the scopes the request creates. */
  scopeKey: string;
  fetcher: string;
  collector: string;
}

export interface AddFramesResult {
  /** Points added (by the first request, when replayed). */
  pointsAdded: number;
  replayed: boolean;
  scopesCreated: string[];
}

export interface ScopeRecord {
  scopeId: string;
  state: Date | undefined;
  active: boolean;
  scopeKey: string;
  fetcher: string;
  collector: string;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  activeToggledAt: Date | undefined;
  fencingToken: bigint;
  fencingEpoch: bigint;
  lastFencingReseed: FencingReseed | undefined;
  createdAt: Date;
  /** Stored points rated with no price rule in force, in how many periods, and the latest such period's begin. */
  unpricedPoints: number;
  unpricedPeriods: number;
  lastUnpricedPeriod: Date | undefined;
}

/** An operator's re-seed of a scope's fencing record. */
export interface FencingReseed {
  at: Date;
  reason: string;
  /** The record it replaced. */
  previous: { epoch: bigint; token: bigint };
}

export interface ScopeQuery {
  scopeIds: string[];
  active: boolean | undefined;
  scopeKey: string;
  fetcher: string;
  collector: string;
  limit: number;
  /** Return scopes with an id greater than this. */
  after: string | undefined;
}

export interface CreateScopeInput {
  scopeId: string;
  active: boolean;
  state: Date | undefined;
  scopeKey: string;
  fetcher: string;
  collector: string;
}

export interface UpdateScopeInput {
  scopeId: string;
  active: boolean | undefined;
  scopeKey: string | undefined;
  fetcher: string | undefined;
  collector: string | undefined;
  /** Where a never rated scope starts: its state. */
  start: Date | undefined;
}

export interface ScopeErrorInput {
  scopeId: string;
  message: string;
  periodBegin: Date | undefined;
  fencingToken: bigint;
  fencingEpoch: bigint;
  at: Date;
}

export interface ReseedInput {
  scopes: ScopeSelection;
  reason: string;
  /** The epoch of the new record; its token is 0. */
  epoch: bigint;
}

/** Which scopes a reset or a reprocessing request is about. */
export type ScopeSelection = { all: true } | { all: false; scopeIds: string[] };

export interface ResetInput {
  scopes: ScopeSelection;
  /** The new state: a period boundary. */
  state: Date;
  /** Who reset (the caller) and why ("" when not given): kept on the adjustments of the periods rated again. */
  actor?: string;
  reason?: string;
}

export interface TaskRecord {
  taskId: string;
  scopeId: string;
  begin: Date;
  /** Where it re-rates to: requestedEnd, or on to the end of that billing month (tasks.ts toMonthEnd). */
  end: Date;
  /** The end it was created with. */
  requestedEnd: Date;
  progress: Date;
  reason: string;
  /** Who created the task. */
  actor: string;
  createdAt: Date;
  finishedAt: Date | undefined;
  periodsTotal: number;
  periodsDone: number;
}

export interface CreateTasksInput {
  scopes: ScopeSelection;
  begin: Date;
  end: Date;
  reason: string;
  /** Who creates the tasks (the caller). */
  actor?: string;
}

export interface TaskCursor {
  /** created_at (epoch ms) and task id of the last task of the previous page. */
  createdAt: number;
  taskId: string;
}

export interface TaskQuery {
  scopeIds: string[];
  unfinishedOnly: boolean;
  ascending: boolean;
  limit: number;
  after: TaskCursor | undefined;
}

export interface PointFilter {
  /** "type", "scope_id" or a groupby key. */
  key: string;
  values: string[];
}

/** Time buckets a summary can group by (UTC): the period, day, ISO week, month, year. */
export const TIME_BUCKETS = ["time", "time-d", "time-w", "time-m", "time-y"] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];

export function isTimeBucket(key: string): key is TimeBucket {
  return (TIME_BUCKETS as readonly string[]).includes(key);
}

/**
 * Names that mean something else in a query (attributes of every point,
 * time buckets, result columns): a groupby key may not use them.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["type", "scope_id", "begin", "end", "qty", "price", ...TIME_BUCKETS]);

export interface OrderBy {
  column: string;
  descending: boolean;
}

export interface SummaryQuery {
  begin: Date;
  end: Date;
  /** Validated: known keys, "type", "scope_id", at most one time bucket. */
  groupBy: string[];
  filters: PointFilter[];
  /** undefined: the amounts now; else as billed then, before the adjustments recorded after it. */
  asOf?: Date | undefined;
}

export interface SummaryRow {
  begin: Date;
  end: Date;
  qty: Decimal;
  price: Decimal;
  /** Number of points summed. */
  count: number;
  /** One value per non-time group-by key, in order. */
  groups: string[];
}

export interface PointQuery {
  begin: Date;
  end: Date;
  filters: PointFilter[];
  limit: number;
  /** Resume after this position (from a page token). */
  after: PointCursor | undefined;
}

/** A position in the (scope, period, sequence) order of stored points. */
export interface PointCursor {
  scopeRef: number;
  begin: number;
  seq: number;
}

/** A stored point with its scope and period (the point itself as the contract's DataPoint). */
export interface PeriodPoint extends DataPoint {
  scopeId: string;
  begin: Date;
  end: Date;
}

export interface PointPage {
  points: PeriodPoint[];
  /** Set when more points remain. */
  next: PointCursor | undefined;
}

export interface PointColumnsQuery extends PointQuery {
  /** Groupsets whose canonical JSON the reader has already: not read again. */
  knownGroupsets: { has(ref: number): boolean };
}

/** A page of stored points as columns (one entry per point), with the dictionaries they refer to. */
export interface PointColumnsPage {
  scopeRef: number[];
  /** Epoch seconds of each point's period. */
  begin: number[];
  typeRef: number[];
  groupsetRef: number[];
  unit: string[];
  /** Exact decimals as text, trailing zeros dropped. */
  qty: string[];
  price: string[];
  /** The metadata JSON as stored ("" for none). */
  metadata: string[];
  scopes: Map<number, string>;
  types: Map<number, string>;
  /** The canonical JSON of each groupset the page refers to that the reader did not know. */
  groupsets: Map<number, string>;
  next: PointCursor | undefined;
}

export interface AdjustmentQuery {
  begin: Date;
  end: Date;
  scopeIds: string[];
  types: string[];
  taskId: string | undefined;
  limit: number;
  after: AdjustmentCursor | undefined;
}

/** A position in the (adjustment, kind, type, groupby map) order of adjustment lines. */
export interface AdjustmentCursor {
  adjustment: number;
  kind: number;
  typeRef: number;
  groupsetRef: number;
}

/** One line of an adjustment, signed: a reversal is the billed amount negated. */
export interface AdjustmentLine {
  adjustmentId: string;
  scopeId: string;
  begin: Date;
  end: Date;
  type: string;
  groupby: Record<string, string>;
  kind: "reversal" | "rerating";
  qty: Decimal;
  price: Decimal;
  points: number;
  taskId: string | undefined;
  resetId: string | undefined;
  actor: string;
  reason: string;
  recordedAt: Date;
  cursor: AdjustmentCursor;
}

/** How busy an engine's connections are (its pool, or SQLite's one connection), for the metrics. */
export interface ConnectionStats {
  /** Connections running a statement or holding a transaction. */
  inUse: number;
  /** Connections at most. */
  max: number;
  /** Calls waiting for a connection. */
  waiting: number;
}

export interface StorageEngine {
  /** True when the database answers. */
  ping(): Promise<boolean>;
  commitPeriod(input: CommitInput): Promise<CommitResult>;
  /** Appends points to their (scope, period) in one transaction, rollups included; creates unknown scopes, moves no state. */
  addFrames(input: AddFramesInput, now: Date): Promise<AddFramesResult>;
  getScope(scopeId: string): Promise<ScopeRecord | undefined>;
  listScopes(query: ScopeQuery): Promise<ScopeRecord[]>;
  createScope(input: CreateScopeInput, now: Date): Promise<ScopeRecord>;
  updateScope(input: UpdateScopeInput, now: Date): Promise<ScopeRecord>;
  resetScopes(input: ResetInput, now: Date): Promise<ScopeRecord[]>;
  recordScopeError(input: ScopeErrorInput): Promise<void>;
  /** Sets the fencing record of the scopes to (epoch, 0), recording why and when. */
  reseedFencing(input: ReseedInput, now: Date): Promise<ScopeRecord[]>;
  createTasks(input: CreateTasksInput, now: Date): Promise<TaskRecord[]>;
  listTasks(query: TaskQuery): Promise<TaskRecord[]>;
  /** Every groupby key seen on a committed point (any type). */
  knownKeys(): Promise<Set<string>>;
  summary(query: SummaryQuery): Promise<SummaryRow[]>;
  /** Adjustment lines of the periods in [begin, end), oldest adjustment first. */
  listAdjustments(query: AdjustmentQuery): Promise<AdjustmentLine[]>;
  /** Points in [begin, end) ordered by scope, period, then position in the frame. */
  listPoints(query: PointQuery): Promise<PointPage>;
  /** The same points as columns, for bulk readers (StreamPointColumns). */
  listPointColumns(query: PointColumnsQuery): Promise<PointColumnsPage>;
  /** Every difference between the rollups and the points they sum (empty when exact). A full scan. */
  verifyRollups(): Promise<string[]>;
  /** How busy the database connections are now. */
  connections(): ConnectionStats;
  close(): Promise<void>;
}
