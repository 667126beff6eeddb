/**
 * Encoding the frames with their points' current prices: every point's
 * bytes are copied from the request as they are, with only the price field
 * written anew; a fixed-point price has its digits written straight into
 * the response buffer.
 */
import { UnpricedPoints } from "../../../libs/gen/ratemesh/v1/rating.js";
import { fixedLength, writeFixedAscii } from "../../../libs/money/fixed.js";
import type { FramesMessage, WireFrame, WirePoint } from "./wire-frames.js";

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
  const extra = (msg.unpriced ?? []).map((u) => UnpricedPoints.encode(u).finish());
  for (const e of extra) total += 1 + varintSize(e.length) + e.length;
  if (msg.monthDependent === true) total += 2;
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
    for (const e of extra) {
      out[at++] = 0x12;
      writeVarint(e.length);
      out.set(e, at);
      at += e.length;
    }
    if (msg.monthDependent === true) {
      out[at++] = 0x18;
      out[at++] = 1;
    }
    if (at !== total) throw new Error(`encoded ${at} bytes, expected ${total}`);
    return out;
  } finally {
    out = Buffer.alloc(0);
  }
}
