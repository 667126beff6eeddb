/**
 * What a rating replica prices with: one immutable snapshot of the module
 * states and price lists, built into in-memory indexes, swapped whole when
 * the database's version counter moves.
 *
 * Freshness across replicas: every change bumps `rating_version` in its own
 * transaction (store/sql.ts). Each replica reads that one row every
 * `refresh_interval` (a primary-key lookup) and reloads everything when it
 * changed; the replica that made a change reloads before answering. So a
 * change is seen everywhere within refresh_interval plus one reload, and no
 * point or period ever waits on the database.
 *
 * The version read and the rows read come from one read transaction, so a
 * snapshot never mixes two versions.
 */
import type { Logger } from "../../libs/logging/logger.js";
import type { ModuleState } from "./domain.js";
import { HashmapIndex } from "./modules/hashmap/hashmap-index.js";
import { loadHashmap } from "./modules/hashmap/repository.js";
import { loadRules } from "./modules/rules/repository.js";
import { RulesIndex } from "./modules/rules/rules-index.js";
import { num, READ_VERSION, type SqlDatabase, type SqlExecutor } from "./store/sql.js";
import { versionEffectives } from "./versions/store.js";

export interface Snapshot {
  version: number;
  modules: ReadonlyMap<string, ModuleState>;
  hashmap: HashmapIndex;
  rules: RulesIndex;
  /** When each published price-list version takes effect (versions/store.ts versionAt). */
  versions: ReadonlyArray<{ number: number; effective: number }>;
}

/** Where a pipeline reads the snapshot it prices with. */
export interface SnapshotSource {
  readonly current: Snapshot;
  /** Makes sure the snapshot is at least `version`. */
  caughtUp(version: number): Promise<void>;
}

async function readVersion(tx: SqlExecutor): Promise<number> {
  const [row] = await tx.all<{ version: unknown }>(READ_VERSION);
  return num(row?.version);
}

export async function loadSnapshot(db: SqlDatabase): Promise<Snapshot> {
  return db.read(async (tx) => {
    const version = await readVersion(tx);
    const modules = (
      await tx.all<{ name: string; enabled: unknown; priority: unknown }>("SELECT name, enabled, priority FROM rating_modules")
    ).map((r) => ({ name: r.name, enabled: num(r.enabled) === 1, priority: num(r.priority) }));
    return {
      version,
      modules: new Map(modules.map((m) => [m.name, m])),
      hashmap: new HashmapIndex(await loadHashmap(tx)),
      rules: new RulesIndex(await loadRules(tx)),
      versions: await versionEffectives(tx),
    };
  });
}

export class RatingState implements SnapshotSource {
  private snapshot: Snapshot;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly logger: Logger,
    first: Snapshot,
  ) {
    this.snapshot = first;
  }

  static async open(db: SqlDatabase, logger: Logger): Promise<RatingState> {
    return new RatingState(db, logger, await loadSnapshot(db));
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  /** Polls the version counter every intervalSeconds. */
  watch(intervalSeconds: number): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.poll().finally(() => {
          if (!this.stopped) tick();
        });
      }, intervalSeconds * 1000);
      this.timer.unref();
    };
    tick();
  }

  private async poll(): Promise<void> {
    try {
      const version = await readVersion(this.db);
      if (version !== this.snapshot.version) await this.reload();
    } catch (err) {
      // Keep pricing with the last snapshot; readiness reports the database.
      this.logger.warn({ err }, "could not check the price list version");
    }
  }

  /** Makes sure the snapshot is at least `version` (after a change made here). */
  async caughtUp(version: number): Promise<void> {
    while (this.snapshot.version < version) await this.reload();
  }

  /** Loads a new snapshot; concurrent callers share one load. */
  reload(): Promise<void> {
    if (this.reloading === undefined) {
      this.reloading = (async () => {
        try {
          const started = performance.now();
          const next = await loadSnapshot(this.db);
          if (next.version !== this.snapshot.version) {
            this.snapshot = next;
            this.logger.info({ version: next.version, ms: Math.round(performance.now() - started) }, "price lists reloaded");
          }
        } finally {
          this.reloading = undefined;
        }
      })();
    }
    return this.reloading;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
