/**
 * What storage counts (the `ratemesh_storage_*` metrics; the full table is
 * in deploy/prometheus/README.md): commits by outcome, points stored, the
 * time of a commit's transaction and of a summary, and how busy the
 * database connections are. Counted once per commit or query, never per
 * point; the label values are fixed here.
 */
import {
  boundCounter,
  type Counter,
  counter,
  type Histogram,
  histogram,
  observedGauge,
  type Registry,
} from "../../libs/metrics/metrics.js";
import type { ConnectionStats } from "./domain.js";
import { StaleTokenError, StateMovedError } from "./engine/rules.js";

export const COMMIT_OUTCOMES = ["ok", "replay", "stale_token", "state_moved", "other"] as const;
export type CommitOutcome = (typeof COMMIT_OUTCOMES)[number];

/** The outcome label of a commit that threw. */
export function refusalOutcome(err: unknown): CommitOutcome {
  if (err instanceof StaleTokenError) return "stale_token";
  if (err instanceof StateMovedError) return "state_moved";
  return "other";
}

export class StorageTelemetry {
  readonly commits: Record<CommitOutcome, Counter.Internal>;
  readonly pointsStored: Counter;
  readonly commitSeconds: Histogram;
  readonly rollupQuerySeconds: Histogram;

  constructor(registry: Registry, connections: () => ConnectionStats) {
    this.commits = boundCounter(registry, {
      name: "ratemesh_storage_commits_total",
      help: "CommitPeriod calls by outcome: ok (written), replay (the same commit again, acknowledged without writing), stale_token and state_moved (refused: another owner, or the state moved), other (invalid or failed).",
      label: "outcome",
      values: COMMIT_OUTCOMES,
    });
    this.pointsStored = counter(
      registry,
      "ratemesh_storage_points_stored_total",
      "Rated points written by commits (a replay writes none).",
    );
    this.commitSeconds = histogram(
      registry,
      "ratemesh_storage_commit_duration_seconds",
      "Time of a commit's database transaction (checks, points, rollups, state), in seconds.",
    );
    this.rollupQuerySeconds = histogram(
      registry,
      "ratemesh_storage_rollup_query_duration_seconds",
      "Time of the rollup query behind a Summary or Total call, in seconds.",
    );
    observedGauge(registry, {
      name: "ratemesh_storage_db_connections_in_use",
      help: "Database connections running a statement or holding a transaction (SQLite: its one connection).",
      read: () => connections().inUse,
    });
    observedGauge(registry, {
      name: "ratemesh_storage_db_connections_max",
      help: "Database connections at most ([storage] pool_size on PostgreSQL; 1 on SQLite).",
      read: () => connections().max,
    });
    observedGauge(registry, {
      name: "ratemesh_storage_db_requests_waiting",
      help: "Calls waiting for a free database connection.",
      read: () => connections().waiting,
    });
  }
}
