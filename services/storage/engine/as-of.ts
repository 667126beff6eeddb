/**
 * "As billed at T": Summary and Total with `as_of`, the amounts storage
 * held at T, computed from what it holds now.
 *
 * Invariant: the amounts of a (scope, period) at T are
 *  - nothing, when its first commit is after T. `frames.first_committed_at`
 *    is written by the transaction that first stores the period and by
 *    none after it (commit.ts), so it is the moment the period started to
 *    be billed; its adjustments are all recorded by later commits, so they
 *    are not unwound either: the period is simply absent;
 *  - otherwise its points now, minus the re-rating lines and plus the
 *    billed lines of every adjustment recorded after T. Each adjustment
 *    replaced exactly its billed lines by its re-rating lines
 *    (adjustments.ts), so undoing all those after T telescopes to what the
 *    period held at T.
 * The planner (summary.ts) reads "now" from whichever sources are
 * cheapest; this adds rows at the same grain and grouping that turn it
 * into T: the current amounts of the periods first committed after T,
 * negated, and the unwinding of the other periods' adjustments. The late
 * periods of a scope are usually all its periods from some period on (a
 * scope's periods are first committed in order): when storage shows that
 * they are (no frame from there on first committed by T, no point there
 * outside a committed period), they are read as "now" over that range,
 * from the rollups; otherwise period by period, from sums_period or, when
 * a groupby key is grouped or filtered on, from their points.
 * All of it is read in the summary's one snapshot, where a commit (its
 * points, rollups, frame row and adjustment) is there entirely or not at
 * all, so a commit landing during the query cannot be half counted. The
 * times compared are storage's own clock, in milliseconds.
 *
 * Points added with AddDataFrames carry no time of their own: in a period
 * that was committed they count from its first commit, in a period never
 * committed (no frame row) at any T.
 */
import { BILLED, RERATED } from "./adjustments.js";
import type { AggregateRequest, AggregateRow, SummaryBackend } from "./summary.js";

/** More distinct starting periods than this: one read of the late periods from the earliest. */
const MAX_LATE_READS = 8;

/**
 * Rows to add to "now" to get the amounts as billed at asOf. `now` is the
 * request of the query's finest source (points or sums_period) over its
 * whole range, at the query's grain and grouping.
 */
export async function asBilledAt(
  backend: SummaryBackend,
  now: AggregateRequest,
  asOf: Date,
  planNow: (begin: number, scopeRefs: number[]) => Promise<AggregateRow[][]>,
): Promise<AggregateRow[][]> {
  const at = asOf.getTime();
  const out: AggregateRow[][] = [];

  // Periods first committed after T: their current amounts, negated. The
  // earliest such period of each scope bounds the read; what makes it
  // exact is allLateFrom's check, or else the condition on each row
  // (periods.late).
  const late = await backend.firstCommittedAfter(now.scopeRefs, now.begin, now.end, at);
  const byStart = new Map<number, number[]>();
  for (const l of late) byStart.set(l.begin, [...(byStart.get(l.begin) ?? []), l.scopeRef]);
  const reads =
    byStart.size > MAX_LATE_READS
      ? [{ begin: Math.min(...byStart.keys()), scopeRefs: late.map((l) => l.scopeRef) }]
      : [...byStart].map(([begin, scopeRefs]) => ({ begin, scopeRefs }));
  for (const r of reads) {
    r.scopeRefs.sort((a, b) => a - b);
    if (await backend.allLateFrom(r.scopeRefs, r.begin, now.end, at)) {
      for (const rows of await planNow(r.begin, r.scopeRefs)) out.push(rows.map(negated));
      continue;
    }
    const rows = await backend.aggregate({
      ...now,
      begin: r.begin,
      scopeRefs: r.scopeRefs,
      periods: { firstCommittedAfter: at, late: true },
    });
    out.push(rows.map(negated));
  }

  // The other periods: their adjustments recorded after T, undone.
  const lines = { ...now, source: "adjustment_lines" as const, periods: { firstCommittedAfter: at, late: false } };
  out.push(await backend.aggregate({ ...lines, lines: { kind: BILLED, recordedAfter: at } }));
  out.push((await backend.aggregate({ ...lines, lines: { kind: RERATED, recordedAfter: at } })).map(negated));
  return out;
}

function negated(r: AggregateRow): AggregateRow {
  return { ...r, count: -r.count, qty: r.qty.neg(), price: r.price.neg() };
}
