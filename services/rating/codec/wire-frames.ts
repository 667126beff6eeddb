/**
 * The frame model of the hand-written protobuf codec for RatingService/Rate,
 * the hot path: frames and points as decoded from the request bytes
 * (decode-frames.ts), priced in place, and encoded back (encode-frames.ts).
 *
 * RateRequest and RateResponse have the same layout (`repeated DataFrame
 * frames = 1`), and rating only changes the points' prices. So decoding
 * reads what pricing needs (scope, begin, each point's type, qty, price,
 * groupby, metadata) and remembers where each point's bytes are; encoding
 * copies those bytes back verbatim and writes only the new price field.
 * The wire format is exactly protobuf's: any client works, and a canonical
 * input (fields in number order, as every generated encoder writes them)
 * gives the byte-identical output the generated encoder would give
 * (frames.test.ts checks both against the generated codec).
 *
 * Field numbers (proto/ratemesh/v1/common.proto, rating.proto):
 *   RateResponse: 1 frames, 2 unpriced; RateRequest: 3 month_to_date
 *   DataFrame: 1 scope_id, 2 begin, 3 end, 4 points
 *   DataPoint: 1 type, 2 unit, 3 qty, 4 price, 5 groupby, 6 metadata
 *   map entry: 1 key, 2 value; Timestamp: 1 seconds, 2 nanos
 */
import type { FrameMonthToDate, UnpricedPoints } from "../../../libs/gen/ratemesh/v1/rating.js";
import { formatFixed } from "../../../libs/money/fixed.js";
import type { RatingFrame, RatingPoint } from "../domain.js";
import { type ByteSlots, type KeyTable, sameBytes } from "./byte-slots.js";
import { text } from "./interned-text.js";

/** Map entry kinds in MessageData.entries: the DataPoint field numbers of the two maps. */
export const GROUPBY = 5;
export const METADATA = 6;

/** What the points of one decoded message share: its bytes and the positions of its map entries. */
export interface MessageData {
  readonly buf: Buffer;
  /** Per map entry: kind (GROUPBY or METADATA), key start, key end, value start, value end. */
  entries: Int32Array;
  count: number;
}

/**
 * Per-call scratch of the key scan: the offset of the entry found for each
 * name, in groupby and in metadata (a service has few key fields; grown if
 * needed). Module-level so that a scan allocates nothing.
 */
let scratchGroupby = new Int32Array(64);
let scratchMetadata = new Int32Array(64);

/** Makes the key scan's scratch big enough for n names. */
export function reserveKeys(n: number): void {
  if (n > scratchGroupby.length) {
    scratchGroupby = new Int32Array(n);
    scratchMetadata = new Int32Array(n);
  }
}

/** The UTF-8 bytes of attribute names (field names are few: cached). */
const keyCache = new Map<string, Uint8Array>();

export function keyBytes(key: string): Uint8Array {
  let k = keyCache.get(key);
  if (k === undefined) {
    k = Buffer.from(key, "utf8");
    if (keyCache.size < 4096) keyCache.set(key, k);
  }
  return k;
}

/**
 * A point as decoded from the request. type, unit, qty and price are read at
 * once; groupby and metadata stay in the request bytes: `attr` finds one
 * attribute there, and the maps are built only if something asks for them
 * (rules, Explain).
 */
export class WirePoint implements RatingPoint {
  private priceText: string;
  /** A fixed-point price m / 10^s set by setFixedPrice (s = -1: none, priceText holds the price). */
  fixedM = 0;
  fixedS = -1;
  /** The price the point came with, to tell whether it changed. */
  readonly original: string;
  private gb: Record<string, string> | undefined;
  private md: Record<string, string> | undefined;

  constructor(
    private readonly data: MessageData,
    public type: string,
    public unit: string,
    public qty: string,
    price: string,
    /** Offsets in the request buffer: the point's bytes. */
    readonly start: number,
    readonly end: number,
    /** Where its price field was ([from, to)), or -1; a second one goes to extraCuts. */
    readonly cutFrom: number,
    readonly cutTo: number,
    readonly extraCuts: number[] | undefined,
    /** Where a new price field goes when the point had none: before the first field numbered above 4. */
    readonly insertAt: number,
    /** Its map entries in data.entries: [from, to) entry indexes. */
    private readonly entryFrom: number,
    private readonly entryTo: number,
  ) {
    this.priceText = price;
    this.original = price;
  }

  get price(): string {
    if (this.fixedS >= 0) {
      this.priceText = formatFixed(this.fixedM, this.fixedS);
      this.fixedS = -1;
    }
    return this.priceText;
  }

  set price(v: string) {
    this.priceText = v;
    this.fixedS = -1;
  }

  setFixedPrice(m: number, s: number): void {
    this.fixedM = m;
    this.fixedS = s;
  }

  /** The price still is the one the point came with (its bytes can be copied as they are). */
  get unchanged(): boolean {
    return this.fixedS < 0 && this.priceText === this.original;
  }

  get groupby(): Record<string, string> {
    if (this.gb === undefined) this.gb = this.map(GROUPBY);
    return this.gb;
  }

  set groupby(v: Record<string, string>) {
    this.gb = v;
  }

  get metadata(): Record<string, string> {
    if (this.md === undefined) this.md = this.map(METADATA);
    return this.md;
  }

  set metadata(v: Record<string, string>) {
    this.md = v;
  }

  /** The maps were built (and may have been changed since): ask them, not the bytes. */
  private get built(): boolean {
    return this.gb !== undefined || this.md !== undefined;
  }

  private map(kind: number): Record<string, string> {
    const out: Record<string, string> = {};
    const t = this.data.entries;
    const b = this.data.buf;
    for (let i = this.entryFrom; i < this.entryTo; i++) {
      const o = i * 5;
      if (t[o] !== kind) continue;
      out[text(b, t[o + 1] as number, t[o + 2] as number)] = text(b, t[o + 3] as number, t[o + 4] as number);
    }
    return out;
  }

  /**
   * The key scan, one pass over the point's map entries: for each entry whose
   * key is name i of `keys` (or, without keys, equals `key`: name 0), its
   * offset goes to the scratch of its map, so the last entry of a key counts
   * (protobuf map semantics). An empty key matches nothing. Then entryOf(i)
   * picks groupby over metadata. Always called with a KeyTable or undefined,
   * never with another shape: the hot loop stays monomorphic.
   */
  private scanKeys(keys: KeyTable | undefined, key: Uint8Array, n: number): void {
    const t = this.data.entries;
    const b = this.data.buf;
    const gbAt = scratchGroupby;
    const mdAt = scratchMetadata;
    for (let i = 0; i < n; i++) {
      gbAt[i] = -1;
      mdAt[i] = -1;
    }
    const klen = key.length;
    for (let o = this.entryFrom * 5, end = this.entryTo * 5; o < end; o += 5) {
      const ks = t[o + 1] as number;
      const ke = t[o + 2] as number;
      const i = keys !== undefined ? keys.match(b, ks, ke) : klen !== 0 && sameBytes(key, b, ks, ke - ks) ? 0 : -1;
      if (i < 0) continue;
      if (t[o] === GROUPBY) gbAt[i] = o;
      else mdAt[i] = o;
    }
  }

  /** After scanKeys: the offset of the entry that counts for name i (groupby wins over metadata), or -1. */
  private entryOf(i: number): number {
    const g = scratchGroupby[i] as number;
    return g >= 0 ? g : (scratchMetadata[i] as number);
  }

  /** The slot in `slots` of the value of the entry at offset o, or -2 when o < 0 (no such attribute). */
  private slotOf(o: number, slots: ByteSlots): number {
    const t = this.data.entries;
    return o < 0 ? -2 : slots.find(this.data.buf, t[o + 3] as number, t[o + 4] as number);
  }

  /**
   * The slot of attribute `key` (UTF-8 bytes) in `slots`, read from the
   * request bytes without making a string: -2 when the point has no such
   * attribute, -1 when its value is not in the table.
   */
  attrSlot(key: Uint8Array, slots: ByteSlots): number {
    if (this.built) {
      const value = this.attr(Buffer.from(key).toString("utf8"));
      if (value === undefined) return -2;
      const bytes = Buffer.from(value, "utf8");
      return slots.find(bytes, 0, bytes.length);
    }
    this.scanKeys(undefined, key, 1);
    return this.slotOf(this.entryOf(0), slots);
  }

  /**
   * For each name of `keys`, its slot in keys.slots[i], into out[i]: -2 when
   * the point has no such attribute, -1 when the value is not in the table.
   * One pass over the point's map entries.
   */
  attrSlots(keys: KeyTable, out: Int32Array): void {
    const n = keys.names.length;
    if (this.built) {
      for (let i = 0; i < n; i++) out[i] = this.attrSlot(keys.names[i] as Uint8Array, keys.slots[i] as ByteSlots);
      return;
    }
    this.scanKeys(keys, NO_KEY, n);
    for (let i = 0; i < n; i++) out[i] = this.slotOf(this.entryOf(i), keys.slots[i] as ByteSlots);
  }

  attr(key: string, utf8?: Uint8Array): string | undefined {
    if (this.built) {
      const g = this.groupby[key];
      if (typeof g === "string") return g;
      const m = this.metadata[key];
      return typeof m === "string" ? m : undefined;
    }
    this.scanKeys(undefined, utf8 ?? keyBytes(key), 1);
    const o = this.entryOf(0);
    const t = this.data.entries;
    return o < 0 ? undefined : text(this.data.buf, t[o + 3] as number, t[o + 4] as number);
  }
}

const NO_KEY = new Uint8Array(0);

export interface WireFrame extends RatingFrame {
  points: WirePoint[];
  /** begin as sent (undefined: absent, or not a valid timestamp). */
  begin: Date | undefined;
  hasBegin: boolean;
  /** [from, to) ranges of the frame's fields other than its points, copied as they are. */
  readonly header: number[];
}

export interface FramesMessage {
  readonly buf: Buffer;
  frames: WireFrame[];
  /** RateResponse's field 2: the frames with points no rule priced (encoded with the generated codec: a few per call). */
  unpriced?: UnpricedPoints[];
  /** RateRequest's field 3: month-to-date quantities per frame (read, never written back). */
  monthToDate?: FrameMonthToDate[];
  /** RateResponse's field 3: some price depended on the month-to-date quantity. */
  monthDependent?: boolean;
}
