/**
 * Validity windows of price rules, the same for hashmap mappings and CEL
 * rules: a rule applies to the periods that start in [start, end) (no end:
 * open) until it is deleted, and CloudKitty's rules say how a window may be
 * set and changed:
 *
 * - a new rule's start defaults to now; a start in the past needs force (it
 *   would change the price of periods that may already be rated);
 * - the end, if any, comes after the start;
 * - a rule that has started (start <= now) may only get an end, in the
 *   future, and only if it has none yet: to change a price, end-date the
 *   rule and create a new one. A rule not started yet may change, but its
 *   start cannot move into the past;
 * - deleting is a soft delete, once; a deleted rule cannot change.
 */
import { FailedPreconditionError, InvalidArgumentError } from "../../libs/errors/errors.js";
import { num, numOrNull, type Row } from "./store/sql.js";
import type { PagedSelect } from "./store/table.js";

export interface Windowed {
  /** Epoch milliseconds. */
  start: number;
  end: number | null;
  deletedAt: number | null;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** CloudKitty's active predicate: start <= at < end, not deleted. */
export function inForce(w: Windowed, at: number): boolean {
  return w.deletedAt === null && w.start <= at && (w.end === null || at < w.end);
}

/** What a windowed rule's row keeps, in the same columns for mappings and CEL rules. */
export interface StoredWindow extends Windowed {
  description: string;
  createdAt: number;
}

/** The columns start_ms, end_ms, description, created_ms and deleted_ms of a row. */
export function readWindow(r: Row): StoredWindow {
  return {
    start: num(r.start_ms),
    end: numOrNull(r.end_ms),
    description: String(r.description ?? ""),
    createdAt: num(r.created_ms),
    deletedAt: numOrNull(r.deleted_ms),
  };
}

/** What a listing of windowed rules may ask for. */
export interface WindowFilter {
  includeDeleted: boolean;
  /** Only the rules in force at this instant. */
  activeAt: number | undefined;
}

/** Narrows a listing of windowed rows (columns deleted_ms, start_ms, end_ms) by the filter. */
export function windowFilter<T>(q: PagedSelect<T>, f: WindowFilter): PagedSelect<T> {
  if (!f.includeDeleted) q.where("deleted_ms IS NULL");
  // inForce in SQL.
  if (f.activeAt !== undefined) q.where("deleted_ms IS NULL AND start_ms <= ? AND (end_ms IS NULL OR end_ms > ?)", f.activeAt, f.activeAt);
  return q;
}

/** [aStart, aEnd) and [bStart, bEnd) share an instant (null end: open). */
export function overlaps(aStart: number, aEnd: number | null, bStart: number, bEnd: number | null): boolean {
  return aStart < (bEnd ?? Number.POSITIVE_INFINITY) && bStart < (aEnd ?? Number.POSITIVE_INFINITY);
}

/**
 * The instants at which the set of rules in force can change (every live
 * rule's start and end). Two instants between the same two boundaries see
 * the same rules, so a view of the rules in force can be keyed by window().
 */
export class WindowBoundaries {
  private readonly boundaries: number[];

  constructor(rows: Iterable<Windowed>) {
    const b = new Set<number>();
    for (const r of rows) {
      if (r.deletedAt !== null) continue;
      b.add(r.start);
      if (r.end !== null) b.add(r.end);
    }
    this.boundaries = [...b].sort((x, y) => x - y);
  }

  /** Number of boundaries <= at: instants with the same number see the same rules. */
  window(at: number): number {
    const b = this.boundaries;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((b[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** An update of a windowed rule, as its manager describes it. */
export interface WindowUpdate<T extends Windowed> {
  /** The fields of the update whose value differs from the stored rule's. */
  changed: readonly string[];
  /** The new end, if the update gives one. */
  end: Date | undefined;
  /** The rule with every change applied (it has not started), after the checks only its module knows. */
  next(): Promise<T> | T;
  /** Checks run on that rule after the window's own (uniqueness). */
  check?(next: T): Promise<void>;
  /** Writes the changed rule. */
  save(next: T): Promise<void>;
}

/** The window rules for one kind of rule; `noun` ("mapping", "rule") is how messages name it. */
export class ValidityRules {
  constructor(private readonly noun: string) {}

  /** The window of a new rule, or INVALID_ARGUMENT naming start or end. */
  created(start: Date | undefined, end: Date | undefined, force: boolean, now: number): { start: number; end: number | null } {
    const s = start?.getTime() ?? now;
    if (!force && s < now) {
      throw new InvalidArgumentError(
        "start",
        `${isoTime(s)} is in the past (now ${isoTime(now)}): it would change the price of periods that may already be rated; set force to do it anyway`,
      );
    }
    const e = end?.getTime() ?? null;
    this.checkEnd(s, e);
    return { start: s, end: e };
  }

  /**
   * Applies an update to `current` (stored as `id`) by the rules above and
   * returns the rule as it now is: unchanged (nothing written) when no field
   * differs, with only its new end when it has started, or the module's
   * next() when it has not.
   */
  async updated<T extends Windowed>(current: T, id: string, now: number, update: WindowUpdate<T>): Promise<T> {
    if (current.deletedAt !== null) {
      throw new FailedPreconditionError(`${this.noun} ${id} was deleted at ${isoTime(current.deletedAt)} and cannot change`);
    }
    const { changed } = update;
    if (current.start <= now) {
      const other = changed.find((f) => f !== "end");
      if (other !== undefined) {
        throw new InvalidArgumentError(
          other,
          `cannot change: the ${this.noun} has been in force since ${isoTime(current.start)}; only its end can be set (end-date it and create a new ${this.noun})`,
        );
      }
      if (!changed.includes("end")) return current;
      if (current.end !== null) {
        throw new InvalidArgumentError("end", `cannot change: the ${this.noun} has started and already ends at ${isoTime(current.end)}`);
      }
      const end = (update.end as Date).getTime();
      if (end < now) {
        throw new InvalidArgumentError("end", `${isoTime(end)} is in the past (now ${isoTime(now)}): an end must be in the future`);
      }
      const next = { ...current, end };
      await update.save(next);
      return next;
    }
    if (changed.length === 0) return current;
    const next = await update.next();
    if (next.start < now) {
      throw new InvalidArgumentError(
        "start",
        `${isoTime(next.start)} is in the past (now ${isoTime(now)}): a ${this.noun}'s start cannot move into the past`,
      );
    }
    this.checkEnd(next.start, next.end);
    await update.check?.(next);
    await update.save(next);
    return next;
  }

  /** The rule (stored as `id`) soft-deleted at `now`; FAILED_PRECONDITION if it already was. */
  deleted<T extends Windowed>(current: T, id: string, now: number): T {
    if (current.deletedAt !== null) {
      throw new FailedPreconditionError(`${this.noun} ${id} was already deleted at ${isoTime(current.deletedAt)}`);
    }
    return { ...current, deletedAt: now };
  }

  private checkEnd(start: number, end: number | null): void {
    if (end !== null && end <= start) {
      throw new InvalidArgumentError("end", `${isoTime(end)} is not after start ${isoTime(start)}: the ${this.noun} would never apply`);
    }
  }
}
