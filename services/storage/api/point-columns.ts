/**
 * StreamPointColumns: the stored points of a range as columns, with the
 * stream's dictionaries (types, units, groupby maps, metadata) sent once,
 * each entry in the first message that uses it. What a bulk reader needs
 * (rating's simulations read millions of points): no map is parsed here
 * or encoded per point, and repeated strings travel once.
 */
import type { PointColumns, StreamPointColumnsResponse } from "../../../libs/gen/ratemesh/v1/storage.js";
import { fromEpochSeconds } from "../../../libs/time/period.js";
import type { PointColumnsPage, PointCursor, PointFilter, StorageEngine } from "../domain.js";

/** Points per page read and per message sent (about 0.5 MB on the wire for typical points). */
const PAGE = 20_000;
/** Groupby maps and metadata remembered per stream, at most: past this, the dictionaries start again (and the reader's with them). */
const MAX_DICTIONARY = 1_000_000;

/** A dictionary of the stream: the index of each entry, in the order sent. */
class Dictionary<K> {
  readonly index = new Map<K, number>();
  fresh: string[] = [];

  clear(): void {
    this.index.clear();
    this.fresh = [];
  }

  /** The index of key; a new key is added, its entry being text(key). */
  ref(key: K, text: (key: K) => string): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(key, i);
      this.fresh.push(text(key));
    }
    return i;
  }

  /** The entries added since the last call. */
  take(): string[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }
}

const same = (s: string) => s;

export async function streamPointColumns(
  engine: StorageEngine,
  periodSeconds: number,
  q: { begin: Date; end: Date; filters: PointFilter[] },
  signal: AbortSignal,
  send: (msg: StreamPointColumnsResponse) => Promise<void>,
  limits: { page: number; maxDictionary: number } = { page: PAGE, maxDictionary: MAX_DICTIONARY },
): Promise<void> {
  const types = new Dictionary<number>();
  const units = new Dictionary<string>();
  const groupbys = new Dictionary<number>();
  const metadata = new Dictionary<string>();
  let after: PointCursor | undefined;
  do {
    if (signal.aborted) return;
    const reset = groupbys.index.size + metadata.index.size > limits.maxDictionary;
    if (reset) for (const d of [types, units, groupbys, metadata]) d.clear();
    const page: PointColumnsPage = await engine.listPointColumns({ ...q, limit: limits.page, after, knownGroupsets: groupbys.index });
    const frames: PointColumns[] = [];
    let frame: PointColumns | undefined;
    let scopeRef = -1;
    let begin = -1;
    const typeName = (t: number) => page.types.get(t) ?? "";
    const canon = (g: number) => page.groupsets.get(g) ?? "{}";
    for (let i = 0; i < page.qty.length; i++) {
      const s = page.scopeRef[i] as number;
      const b = page.begin[i] as number;
      if (frame === undefined || s !== scopeRef || b !== begin) {
        scopeRef = s;
        begin = b;
        frame = {
          scopeId: page.scopes.get(s) ?? "",
          begin: fromEpochSeconds(b),
          end: fromEpochSeconds(b + periodSeconds),
          types: [],
          units: [],
          groupbys: [],
          metadata: [],
          qty: [],
          price: [],
        };
        frames.push(frame);
      }
      const t = page.typeRef[i] as number;
      const g = page.groupsetRef[i] as number;
      const u = page.unit[i] as string;
      const m = page.metadata[i] as string;
      frame.types.push(types.ref(t, typeName));
      frame.units.push(units.ref(u, same));
      frame.groupbys.push(groupbys.ref(g, canon));
      frame.metadata.push(metadata.ref(m, same));
      frame.qty.push(page.qty[i] as string);
      frame.price.push(page.price[i] as string);
    }
    if (frames.length > 0) {
      await send({
        newTypes: types.take(),
        newUnits: units.take(),
        newGroupbys: groupbys.take(),
        newMetadata: metadata.take(),
        frames,
        dictionariesReset: reset,
      });
    }
    after = page.next;
  } while (after !== undefined);
}
