/**
 * A table from byte strings to small integers, looked up straight from a
 * buffer: the hashmap's trie asks "which slot is this attribute value?" for
 * points still in their request bytes, without making a string of the value.
 */

/** FNV-1a over bytes [start, end). */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h | 0;
}

export class ByteSlots {
  private readonly table = new Map<number, Array<{ bytes: Uint8Array; slot: number }>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(value: string, slot: number): void {
    const bytes = Buffer.from(value, "utf8");
    const h = hashBytes(bytes, 0, bytes.length);
    let bucket = this.table.get(h);
    if (bucket === undefined) {
      bucket = [];
      this.table.set(h, bucket);
    }
    if (bucket.some((e) => e.bytes.length === bytes.length && Buffer.compare(e.bytes, bytes) === 0)) return;
    bucket.push({ bytes, slot });
    this.count++;
  }

  /** The slot of the bytes [start, end) of b, or -1 when they are not in the table. */
  find(b: Uint8Array, start: number, end: number): number {
    const bucket = this.table.get(hashBytes(b, start, end));
    if (bucket === undefined) return -1;
    const len = end - start;
    for (let k = 0; k < bucket.length; k++) {
      const e = bucket[k] as { bytes: Uint8Array; slot: number };
      if (sameBytes(e.bytes, b, start, len)) return e.slot;
    }
    return -1;
  }
}

/**
 * The attribute names a service's rules look at, indexed so that one pass
 * over a point's map entries finds all of them: an entry's key length and
 * first byte pick the one candidate name (if any) to compare with.
 */
export class KeyTable {
  /** Per (length < 64, first byte): index of the only name with them, -1 none, -2 several. */
  private readonly byLenFirst = new Int16Array(64 * 256).fill(-1);
  /** Some name is 64 bytes or longer: compare every entry with every name. */
  readonly hasLong: boolean;

  constructor(
    readonly names: readonly Uint8Array[],
    readonly slots: readonly ByteSlots[],
  ) {
    let long = false;
    for (const [i, k] of names.entries()) {
      if (k.length >= 64 || k.length === 0) {
        long = true;
        continue;
      }
      const at = k.length * 256 + (k[0] as number);
      this.byLenFirst[at] = this.byLenFirst[at] === -1 ? i : -2;
    }
    this.hasLong = long;
  }

  /** The index of the name equal to bytes [start, end) of b, or -1. */
  match(b: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === 0) return -1;
    let candidate = len < 64 ? (this.byLenFirst[len * 256 + (b[start] as number)] as number) : -2;
    if (candidate === -1) {
      if (!this.hasLong) return -1;
      candidate = -2;
    }
    if (candidate >= 0) return sameBytes(this.names[candidate] as Uint8Array, b, start, len) ? candidate : -1;
    for (let i = 0; i < this.names.length; i++) if (sameBytes(this.names[i] as Uint8Array, b, start, len)) return i;
    return -1;
  }
}

/** k equals the len bytes of b from start. */
export function sameBytes(k: Uint8Array, b: Uint8Array, start: number, len: number): boolean {
  if (k.length !== len) return false;
  for (let j = 0; j < len; j++) if (k[j] !== b[start + j]) return false;
  return true;
}
