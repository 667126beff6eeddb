/**
 * Strings read from request bytes. Short ASCII strings (types, units, keys,
 * most values) are interned in a small direct-mapped table, so a value seen
 * before costs a hash and a compare instead of a new string; and the same
 * string object comes back, whose hash the Maps of the pricing indexes have
 * already computed. A slot that keeps being hit is not evicted by strings
 * seen once (ids, byte counts).
 */
const INTERN_SIZE = 1 << 14;
const INTERN_MAX = 48;
const interned: Array<string | undefined> = new Array(INTERN_SIZE).fill(undefined);
const internHits = new Uint8Array(INTERN_SIZE);

export function text(b: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return "";
  if (len > INTERN_MAX) return b.toString("utf8", start, end);
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c >= 0x80) return b.toString("utf8", start, end);
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (INTERN_SIZE - 1);
  const cand = interned[slot];
  if (cand !== undefined && cand.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (cand.charCodeAt(i) !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      if ((internHits[slot] as number) < 255) internHits[slot] = (internHits[slot] as number) + 1;
      return cand;
    }
  }
  const s = b.toString("latin1", start, end);
  if (cand === undefined || internHits[slot] === 0) {
    interned[slot] = s;
    internHits[slot] = 0;
  } else {
    internHits[slot] = (internHits[slot] as number) - 1;
  }
  return s;
}
