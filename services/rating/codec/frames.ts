/**
 * A hand-written protobuf codec for RatingService/Rate, the hot path.
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
 * Field numbers (proto/ratemesh/v1/common.proto):
 *   DataFrame: 1 scope_id, 2 begin, 3 end, 4 points
 *   DataPoint: 1 type, 2 unit, 3 qty, 4 price, 5 groupby, 6 metadata
 *   map entry: 1 key, 2 value; Timestamp: 1 seconds, 2 nanos
 */
import { fixedLength, formatFixed, writeFixedAscii } from "../../../libs/money/fixed.js";
import type { RatingFrame, RatingPoint } from "../domain.js";
import type { ByteSlots, KeyTable } from "./byte-slots.js";

/** Per-call scratch of attrSlots (a service has few key fields; grown if needed). */
let scratchGroupby = new Int32Array(64);
let scratchMetadata = new Int32Array(64);

/** Makes attrSlots' scratch big enough for n names. */
export function reserveKeys(n: number): void {
  if (n > scratchGroupby.length) {
    scratchGroupby = new Int32Array(n);
    scratchMetadata = new Int32Array(n);
  }
}

/** What the points of one decoded message share: its bytes and the positions of its map entries. */
interface MessageData {
  readonly buf: Buffer;
  /** Per map entry: kind (5 groupby, 6 metadata), key start, key end, value start, value end. */
  entries: Int32Array;
  count: number;
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
    if (this.gb === undefined) this.gb = this.map(5);
    return this.gb;
  }

  set groupby(v: Record<string, string>) {
    this.gb = v;
  }

  get metadata(): Record<string, string> {
    if (this.md === undefined) this.md = this.map(6);
    return this.md;
  }

  set metadata(v: Record<string, string>) {
    this.md = v;
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
   * The slot of attribute `key` (UTF-8 bytes) in `slots`, read from the
   * request bytes without making a string: -2 when the point has no such
   * attribute, -1 when its value is not in the table.
   */
  attrSlot(key: Uint8Array, slots: ByteSlots): number {
    if (this.gb !== undefined || this.md !== undefined) {
      // The maps were built (and may have been changed): ask them.
      const value = this.attr(Buffer.from(key).toString("utf8"));
      if (value === undefined) return -2;
      const bytes = Buffer.from(value, "utf8");
      return slots.find(bytes, 0, bytes.length);
    }
    const t = this.data.entries;
    const b = this.data.buf;
    const klen = key.length;
    const k0 = key[0];
    let inGroupby = -1;
    let inMetadata = -1;
    for (let o = this.entryFrom * 5, end = this.entryTo * 5; o < end; o += 5) {
      const ks = t[o + 1] as number;
      if ((t[o + 2] as number) - ks !== klen || b[ks] !== k0) continue;
      let same = true;
      for (let j = 1; j < klen; j++) {
        if (b[ks + j] !== key[j]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      if (t[o] === 5) inGroupby = o;
      else inMetadata = o;
    }
    const found = inGroupby >= 0 ? inGroupby : inMetadata;
    if (found < 0) return -2;
    return slots.find(b, t[found + 3] as number, t[found + 4] as number);
  }

  /**
   * For each name of `keys`, its slot in keys.slots[i], into out[i]: -2 when
   * the point has no such attribute, -1 when the value is not in the table.
   * One pass over the point's map entries.
   */
  attrSlots(keys: KeyTable, out: Int32Array): void {
    const n = keys.names.length;
    if (this.gb !== undefined || this.md !== undefined) {
      for (let i = 0; i < n; i++) out[i] = this.attrSlot(keys.names[i] as Uint8Array, keys.slots[i] as ByteSlots);
      return;
    }
    const t = this.data.entries;
    const b = this.data.buf;
    const gbAt = scratchGroupby;
    const mdAt = scratchMetadata;
    for (let i = 0; i < n; i++) {
      gbAt[i] = -1;
      mdAt[i] = -1;
    }
    // The last entry of a key counts (protobuf map semantics); groupby wins over metadata.
    for (let o = this.entryFrom * 5, end = this.entryTo * 5; o < end; o += 5) {
      const i = keys.match(b, t[o + 1] as number, t[o + 2] as number);
      if (i < 0) continue;
      if (t[o] === 5) gbAt[i] = o;
      else mdAt[i] = o;
    }
    for (let i = 0; i < n; i++) {
      const o = (gbAt[i] as number) >= 0 ? (gbAt[i] as number) : (mdAt[i] as number);
      out[i] = o < 0 ? -2 : (keys.slots[i] as ByteSlots).find(b, t[o + 3] as number, t[o + 4] as number);
    }
  }

  attr(key: string, utf8?: Uint8Array): string | undefined {
    if (this.gb !== undefined || this.md !== undefined) {
      const g = this.groupby[key];
      if (typeof g === "string") return g;
      const m = this.metadata[key];
      return typeof m === "string" ? m : undefined;
    }
    const t = this.data.entries;
    const b = this.data.buf;
    const k = utf8 ?? keyBytes(key);
    const klen = k.length;
    const k0 = k[0];
    // One pass; the last entry of a key counts (protobuf map semantics), groupby wins over metadata.
    let inGroupby = -1;
    let inMetadata = -1;
    for (let o = this.entryFrom * 5, end = this.entryTo * 5; o < end; o += 5) {
      const ks = t[o + 1] as number;
      if ((t[o + 2] as number) - ks !== klen || b[ks] !== k0) continue;
      let same = true;
      for (let j = 1; j < klen; j++) {
        if (b[ks + j] !== k[j]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      if (t[o] === 5) inGroupby = o;
      else inMetadata = o;
    }
    const found = inGroupby >= 0 ? inGroupby : inMetadata;
    return found < 0 ? undefined : text(b, t[found + 3] as number, t[found + 4] as number);
  }
}

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
}

export class WireFormatError extends Error {
  constructor(message: string) {
    super(`malformed message: ${message}`);
    this.name = "WireFormatError";
  }
}

// Strings: short ASCII strings (types, units, keys, most values) are interned
// in a small direct-mapped table, so a value seen before costs a hash and a
// compare instead of a new string; and the same string object comes back,
// whose hash the Maps of the hashmap index have already computed. A slot
// that keeps being hit is not evicted by strings seen once (ids, byte counts).
const INTERN_SIZE = 1 << 14;
const INTERN_MAX = 48;
const interned: Array<string | undefined> = new Array(INTERN_SIZE).fill(undefined);
const internHits = new Uint8Array(INTERN_SIZE);

function text(b: Buffer, start: number, end: number): string {
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

const keyCache = new Map<string, Uint8Array>();

/** The UTF-8 bytes of an attribute name (field names are few: cached). */
export function keyBytes(key: string): Uint8Array {
  let k = keyCache.get(key);
  if (k === undefined) {
    k = Buffer.from(key, "utf8");
    if (keyCache.size < 4096) keyCache.set(key, k);
  }
  return k;
}

// Decoder state: one message is decoded at a time (decoding is synchronous).
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let data: MessageData = { buf, entries: new Int32Array(0), count: 0 };

function varint(): number {
  let b = buf[pos++] as number;
  if (b < 0x80) return b;
  let v = b & 0x7f;
  b = buf[pos++] as number;
  v |= (b & 0x7f) << 7;
  if (b < 0x80) return v;
  b = buf[pos++] as number;
  v |= (b & 0x7f) << 14;
  if (b < 0x80) return v;
  b = buf[pos++] as number;
  v |= (b & 0x7f) << 21;
  if (b < 0x80) return v >>> 0;
  // Beyond 28 bits: keep going in floating point (exact below 2^53).
  let value = (v >>> 0) + 0;
  let mul = 2 ** 28;
  for (let i = 0; i < 6; i++) {
    if (pos > buf.length) throw new WireFormatError("truncated varint");
    b = buf[pos++] as number;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value;
    mul *= 128;
  }
  throw new WireFormatError("varint too long");
}

/** A signed int64 varint (Timestamp.seconds), two's complement for negatives. */
function int64(): number {
  const start = pos;
  const v = varint();
  if (pos - start === 10 || v >= 2 ** 63) {
    let x = 0n;
    let shift = 0n;
    for (let i = start; i < pos; i++) {
      x |= BigInt((buf[i] as number) & 0x7f) << shift;
      shift += 7n;
    }
    return Number(BigInt.asIntN(64, x));
  }
  return v;
}

function checkEnd(end: number): void {
  if (end > buf.length) throw new WireFormatError("length beyond the end of the message");
}

function skip(wire: number): void {
  switch (wire) {
    case 0:
      varint();
      return;
    case 1:
      pos += 8;
      return;
    case 2: {
      const len = varint();
      pos += len;
      return;
    }
    case 5:
      pos += 4;
      return;
    default:
      throw new WireFormatError(`unsupported wire type ${wire}`);
  }
}

function string(len: number): string {
  const end = pos + len;
  checkEnd(end);
  const s = text(buf, pos, end);
  pos = end;
  return s;
}

function timestamp(len: number): Date {
  const end = pos + len;
  checkEnd(end);
  let seconds = 0;
  let nanos = 0;
  while (pos < end) {
    const tag = varint();
    if (tag === 0x08) seconds = int64();
    else if (tag === 0x10) nanos = varint() | 0;
    else skip(tag & 7);
  }
  return new Date(seconds * 1000 + nanos / 1_000_000);
}

/** Records a map<string, string> entry's key and value positions (decoded only on demand). */
function entry(len: number, kind: number): void {
  const end = pos + len;
  checkEnd(end);
  let ks = pos;
  let ke = pos;
  let vs = pos;
  let ve = pos;
  while (pos < end) {
    const tag = varint();
    if (tag === 0x0a) {
      const l = varint();
      ks = pos;
      ke = pos + l;
      checkEnd(ke);
      pos = ke;
    } else if (tag === 0x12) {
      const l = varint();
      vs = pos;
      ve = pos + l;
      checkEnd(ve);
      pos = ve;
    } else {
      skip(tag & 7);
    }
  }
  if (pos !== end) throw new WireFormatError("a map entry overruns its length");
  let t = data.entries;
  const o = data.count * 5;
  if (o + 5 > t.length) {
    const bigger = new Int32Array(Math.max(1024, t.length * 2));
    bigger.set(t);
    data.entries = t = bigger;
  }
  t[o] = kind;
  t[o + 1] = ks;
  t[o + 2] = ke;
  t[o + 3] = vs;
  t[o + 4] = ve;
  data.count++;
}

function point(len: number): WirePoint {
  const start = pos;
  const end = pos + len;
  checkEnd(end);
  let type = "";
  let unit = "";
  let qty = "";
  let price = "";
  let cutFrom = -1;
  let cutTo = -1;
  let extraCuts: number[] | undefined;
  let insertAt = end;
  const entryFrom = data.count;
  while (pos < end) {
    const fieldStart = pos;
    const tag = varint();
    const field = tag >>> 3;
    if (field > 4 && insertAt === end) insertAt = fieldStart;
    if ((tag & 7) !== 2) {
      skip(tag & 7);
      continue;
    }
    const l = varint();
    switch (field) {
      case 1:
        type = string(l);
        break;
      case 2:
        unit = string(l);
        break;
      case 3:
        qty = string(l);
        break;
      case 4:
        price = string(l);
        if (cutFrom >= 0) {
          extraCuts = extraCuts ?? [];
          extraCuts.push(cutFrom, cutTo);
        }
        cutFrom = fieldStart;
        cutTo = pos;
        break;
      case 5:
        entry(l, 5);
        break;
      case 6:
        entry(l, 6);
        break;
      default:
        pos += l;
    }
  }
  if (pos !== end) throw new WireFormatError("a point's fields overrun its length");
  return new WirePoint(data, type, unit, qty, price, start, end, cutFrom, cutTo, extraCuts, insertAt, entryFrom, data.count);
}

function frame(len: number): WireFrame {
  const end = pos + len;
  checkEnd(end);
  let scopeId = "";
  let begin: Date | undefined;
  let hasBegin = false;
  const points: WirePoint[] = [];
  const header: number[] = [];
  while (pos < end) {
    const fieldStart = pos;
    const tag = varint();
    if (tag === 0x22) {
      points.push(point(varint()));
      continue;
    }
    if (tag === 0x0a) scopeId = string(varint());
    else if (tag === 0x12) {
      begin = timestamp(varint());
      hasBegin = true;
    } else skip(tag & 7);
    header.push(fieldStart, pos);
  }
  if (pos !== end) throw new WireFormatError("a frame's fields overrun its length");
  return { scopeId, at: begin ?? new Date(Number.NaN), begin, hasBegin, points, header };
}

/** Decodes a RateRequest (or a RateResponse: same layout). */
export function decodeFrames(bytes: Buffer): FramesMessage {
  buf = bytes;
  pos = 0;
  data = { buf: bytes, entries: new Int32Array(Math.min(1 << 20, Math.max(64, bytes.length >>> 3))), count: 0 };
  const frames: WireFrame[] = [];
  try {
    while (pos < bytes.length) {
      const tag = varint();
      if (tag === 0x0a) frames.push(frame(varint()));
      else skip(tag & 7);
    }
    if (pos !== bytes.length) throw new WireFormatError("truncated");
  } finally {
    buf = Buffer.alloc(0);
  }
  return { buf: bytes, frames };
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

// Encoder state.
let out: Buffer = Buffer.alloc(0);
let at = 0;

function writeVarint(v: number): void {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
}

function copy(src: Buffer, from: number, to: number): void {
  const n = to - from;
  if (n <= 32) {
    for (let i = from; i < to; i++) out[at++] = src[i] as number;
  } else {
    src.copy(out, at, from, to);
    at += n;
  }
}

/** Bytes of a price string (ASCII digits, sign and point once validated; UTF-8 otherwise). */
function priceBytes(price: string): number {
  for (let i = 0; i < price.length; i++) if (price.charCodeAt(i) >= 0x80) return Buffer.byteLength(price, "utf8");
  return price.length;
}

function writePrice(price: string, n: number): void {
  out[at++] = 0x22;
  writeVarint(n);
  if (n === price.length) {
    for (let i = 0; i < n; i++) out[at++] = price.charCodeAt(i);
  } else {
    at += out.write(price, at, "utf8");
  }
}

/** Writes the price field with m / 10^s: its digits go straight into the output. */
function writeFixedPrice(m: number, s: number, n: number): void {
  out[at++] = 0x22;
  writeVarint(n);
  at += n;
  writeFixedAscii(out, at, m, s);
}

function priceFieldSize(p: WirePoint): number {
  if (p.fixedS >= 0) {
    const n = fixedLength(p.fixedM, p.fixedS);
    return 1 + varintSize(n) + n;
  }
  const price = p.price;
  if (price === "") return 0;
  const n = priceBytes(price);
  return 1 + varintSize(n) + n;
}

function writePriceField(p: WirePoint): void {
  if (p.fixedS >= 0) {
    writeFixedPrice(p.fixedM, p.fixedS, fixedLength(p.fixedM, p.fixedS));
    return;
  }
  const price = p.price;
  if (price !== "") writePrice(price, priceBytes(price));
}

/** The encoded size of a point with its current price. */
function pointSize(p: WirePoint): number {
  if (p.unchanged) return p.end - p.start;
  let kept = p.end - p.start;
  if (p.cutFrom >= 0) kept -= p.cutTo - p.cutFrom;
  if (p.extraCuts !== undefined)
    for (let i = 0; i < p.extraCuts.length; i += 2) kept -= (p.extraCuts[i + 1] as number) - (p.extraCuts[i] as number);
  return kept + priceFieldSize(p);
}

function writePoint(p: WirePoint, src: Buffer): void {
  if (p.unchanged) {
    copy(src, p.start, p.end);
    return;
  }
  if (p.cutFrom < 0) {
    // No price field before: put the new one where the generated encoder would.
    copy(src, p.start, p.insertAt);
    writePriceField(p);
    copy(src, p.insertAt, p.end);
    return;
  }
  let from = p.start;
  const extra = p.extraCuts;
  if (extra !== undefined) {
    // Earlier price fields are dropped; the new price takes the place of the last one (the one that counted).
    for (let i = 0; i < extra.length; i += 2) {
      copy(src, from, extra[i] as number);
      from = extra[i + 1] as number;
    }
  }
  copy(src, from, p.cutFrom);
  writePriceField(p);
  copy(src, p.cutTo, p.end);
}

/** Encodes the frames with their points' current prices (a RateResponse, or a RateRequest). */
export function encodeFrames(msg: FramesMessage): Buffer {
  const src = msg.buf;
  const frameSizes: number[] = [];
  const pointSizes: number[] = [];
  let total = 0;
  for (const f of msg.frames) {
    let size = 0;
    for (let i = 0; i < f.header.length; i += 2) size += (f.header[i + 1] as number) - (f.header[i] as number);
    for (const p of f.points) {
      const n = pointSize(p);
      pointSizes.push(n);
      size += 1 + varintSize(n) + n;
    }
    frameSizes.push(size);
    total += 1 + varintSize(size) + size;
  }
  out = Buffer.allocUnsafe(total);
  at = 0;
  let k = 0;
  try {
    for (let fi = 0; fi < msg.frames.length; fi++) {
      const f = msg.frames[fi] as WireFrame;
      out[at++] = 0x0a;
      writeVarint(frameSizes[fi] as number);
      for (let i = 0; i < f.header.length; i += 2) copy(src, f.header[i] as number, f.header[i + 1] as number);
      for (const p of f.points) {
        out[at++] = 0x22;
        writeVarint(pointSizes[k++] as number);
        writePoint(p, src);
      }
    }
    if (at !== total) throw new Error(`encoded ${at} bytes, expected ${total}`);
    return out;
  } finally {
    out = Buffer.alloc(0);
  }
}
