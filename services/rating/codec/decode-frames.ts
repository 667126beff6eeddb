/**
 * Decoding a RateRequest (or a RateResponse: the same layout) into the frame
 * model of wire-frames.ts: reads what pricing needs (scope, begin, each
 * point's type, unit, qty and price), records where each point's bytes and
 * map entries are, and decodes nothing else.
 */
import { isUtf8 } from "node:buffer";
import { type FrameMonthToDate, MonthToDateByFrame, UnpricedPoints } from "../../../libs/gen/ratemesh/v1/rating.js";
import { text } from "./interned-text.js";
import { type FramesMessage, GROUPBY, METADATA, type MessageData, type WireFrame, WirePoint } from "./wire-frames.js";

export class WireFormatError extends Error {
  constructor(message: string) {
    super(`malformed message: ${message}`);
    this.name = "WireFormatError";
  }
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
  // Bad bytes decode to U+FFFD: only then is the field checked.
  if (s.includes("\uFFFD") && !isUtf8(buf.subarray(pos, end))) throw new WireFormatError("a string field is not valid UTF-8");
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
  if (nanos < 0 || nanos > 999_999_999) throw new WireFormatError(`a timestamp has nanos ${nanos}, outside 0..999999999`);
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
        entry(l, GROUPBY);
        break;
      case 6:
        entry(l, METADATA);
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
  const unpriced: UnpricedPoints[] = [];
  const monthToDate: FrameMonthToDate[] = [];
  try {
    while (pos < bytes.length) {
      const tag = varint();
      if (tag === 0x0a) frames.push(frame(varint()));
      else if (tag === 0x12) {
        const len = varint();
        checkEnd(pos + len);
        unpriced.push(UnpricedPoints.decode(bytes.subarray(pos, pos + len)));
        pos += len;
      } else if (tag === 0x1a) {
        const len = varint();
        checkEnd(pos + len);
        monthToDate.push(...MonthToDateByFrame.decode(bytes.subarray(pos, pos + len)).frames);
        pos += len;
      } else skip(tag & 7);
    }
    if (pos !== bytes.length) throw new WireFormatError("truncated");
  } finally {
    buf = Buffer.alloc(0);
  }
  const msg: FramesMessage = { buf: bytes, frames };
  if (unpriced.length > 0) msg.unpriced = unpriced;
  if (monthToDate.length > 0) msg.monthToDate = monthToDate;
  return msg;
}
