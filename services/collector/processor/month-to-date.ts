/**
 * Month-to-date quantities for tiered prices: for each period of a scope,
 * the scope's quantity of each type from the start of the period's billing
 * month (in `[collect] billing_time_zone`) to the period's begin. Rating
 * prices a tiered mapping from it (services/rating/modules/hashmap/tiers.ts).
 *
 * Where the state lives, and why it stays exact. There is no month-to-date
 * state of its own anywhere: for period p it is a pure function of the
 * periods of p's month that storage holds before p, read from storage
 * (Summary grouped by type, scope filter, [month start, p.begin)) just
 * before p is rated, plus, within one batch, the quantities of the batch's
 * earlier periods (which will be committed, in order, before p).
 *
 * - Order: a scope's periods are committed in order, by one owner at a
 *   time, fenced (PROCESSOR.md). When p is rated, every period before p in
 *   its month is either committed (in storage, hence in the Summary) or an
 *   earlier period of the same batch (counted here from the very frames that
 *   will be committed before p: a batch's frames are committed in order and
 *   the commit of p expects the state the earlier ones leave, so p is never
 *   committed unless they all were, with exactly these quantities).
 * - Crash, retry, lost reply: nothing is kept between attempts. An attempt
 *   that failed part-way committed a prefix of the batch; the next attempt
 *   starts after that prefix and reads it back from storage: the same
 *   numbers. A replayed commit is acknowledged by storage without writing
 *   twice, so nothing is counted twice.
 * - Takeover: the new owner rates from the state storage has and reads the
 *   same committed periods; a fenced-out owner's late commit is refused, so
 *   what it computed never lands.
 * - Reprocessing and reset: a re-rated period p reads its month's periods
 *   before p as they are stored now (re-rated before it: a task goes in
 *   order), and p's own old points lie at or after p.begin, outside the
 *   range. Re-rating p changes the month-to-date of the later periods of its
 *   month, so they must be re-rated too: a reset re-rates everything after
 *   the reset point anyway, and storage extends a reprocessing task to the
 *   end of the billing month of its end (services/storage/engine/tasks.ts).
 *
 * Points added to stored periods by an operator (AddDataFrames) are in
 * storage, so they count for the periods rated after them.
 */
import type { DataFrame } from "../../../libs/gen/ratemesh/v1/common.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { monthStart } from "../../../libs/time/month.js";
import type { ProcessorContext } from "./context.js";

/** Type → quantity, exact decimals. */
export type Quantities = Record<string, string>;

export class MonthToDate {
  constructor(private readonly ctx: ProcessorContext) {}

  /**
   * For each frame of one scope, consecutive periods in order, the
   * quantities per type of the frame's billing month before its begin.
   */
  async of(scopeId: string, frames: DataFrame[], signal: AbortSignal): Promise<Map<DataFrame, Quantities>> {
    const timeZone = this.ctx.opts.billingTimeZone ?? "UTC";
    const out = new Map<DataFrame, Quantities>();
    let month: number | undefined;
    let acc = new Map<string, Decimal>();
    for (const f of frames) {
      if (f.begin === undefined) continue;
      const start = monthStart(f.begin, timeZone).getTime();
      if (start !== month) {
        month = start;
        acc = start < f.begin.getTime() ? await this.stored(scopeId, new Date(start), f.begin, signal) : new Map();
      }
      const q: Quantities = {};
      for (const [type, qty] of acc) q[type] = qty.toString();
      out.set(f, q);
      for (const p of f.points) acc.set(p.type, (acc.get(p.type) ?? Decimal.ZERO).add(Decimal.parse(p.qty)));
    }
    return out;
  }

  /** The scope's quantity per type stored over [begin, end). */
  private async stored(scopeId: string, begin: Date, end: Date, signal: AbortSignal): Promise<Map<string, Decimal>> {
    const out = new Map<string, Decimal>();
    let pageToken = "";
    do {
      const res = await this.ctx.deps.storage.summary(
        {
          begin,
          end,
          groupBy: ["type"],
          filters: [{ key: "scope_id", values: [scopeId] }],
          orderBy: [],
          pageSize: 10000,
          pageToken,
        },
        { signal },
      );
      const qty = res.columns.indexOf("qty");
      const type = res.columns.indexOf("type");
      for (const row of res.rows) {
        const t = row.values[type] ?? "";
        const q = row.values[qty] ?? "0";
        out.set(t, (out.get(t) ?? Decimal.ZERO).add(Decimal.parse(q)));
      }
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return out;
  }
}
