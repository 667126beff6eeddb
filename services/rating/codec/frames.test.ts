/**
 * The hand-written Rate codec against the generated one: what it decodes is
 * what the generated decoder reads; what it encodes the generated decoder
 * reads back with exactly the new prices; and for canonical input (what any
 * generated encoder writes) its output is byte-identical to the generated
 * encoder's.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataFrame, DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { RateRequest, RateResponse, UnpricedReason } from "../../../libs/gen/ratemesh/v1/rating.js";
import { formatFixed } from "../../../libs/money/fixed.js";
import { seededRandom } from "../../../test/support/random.js";
import { ByteSlots, KeyTable } from "./byte-slots.js";
import { decodeFrames, WireFormatError } from "./decode-frames.js";
import { encodeFrames } from "./encode-frames.js";
import type { WirePoint } from "./wire-frames.js";

const WORDS = [
  "",
  "a",
  "instance",
  "m1.tiny",
  "é",
  "日本語のテキスト",
  "x".repeat(30),
  "y".repeat(200),
  "ünïcødé-vålue-that-is-long",
  "0",
  "12.50",
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function randomPoint(r: () => number): DataPoint {
  const map = () => {
    const out: Record<string, string> = {};
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) out[pick(r, WORDS) + i] = pick(r, WORDS);
    return out;
  };
  return {
    type: pick(r, WORDS),
    unit: pick(r, WORDS),
    qty: pick(r, ["1", "0.5", "", "123456789.123456789"]),
    price: pick(r, ["", "0", "1.25", "-3"]),
    groupby: map(),
    metadata: map(),
  };
}

function randomFrames(r: () => number): DataFrame[] {
  return Array.from({ length: Math.floor(r() * 4) }, (_, i) => ({
    scopeId: pick(r, ["", "p1", "projet-é"]),
    begin: r() < 0.8 ? new Date(Date.UTC(2026, 0, 1) + Math.floor(r() * 1e9) * 1000 + (r() < 0.2 ? 123 : 0)) : undefined,
    end: r() < 0.5 ? new Date(Date.UTC(2027, 0, 1) - i * 1000) : undefined,
    points: Array.from({ length: Math.floor(r() * 6) }, () => randomPoint(r)),
  }));
}

/**
 * Random frames through the codec: decoded, each point handed to change()
 * with its twin among the generated frames (to be changed alike), then
 * encoded by the codec (mine) and by the generated encoder (theirs).
 */
function reencode(r: () => number, change: (p: WirePoint, twin: DataPoint) => void) {
  const frames = randomFrames(r);
  const msg = decodeFrames(Buffer.from(RateRequest.encode({ frames }).finish()));
  for (const [fi, f] of msg.frames.entries()) {
    for (const [pi, p] of f.points.entries()) change(p, frames[fi]?.points[pi] as DataPoint);
  }
  return { frames, msg, mine: encodeFrames(msg), theirs: Buffer.from(RateResponse.encode({ frames, unpriced: [] }).finish()) };
}

const NEW_PRICES = ["", "0", "2.84", "34.40", "-0.000001", "123456789012345678901234567890.1234567890123456789012345678"];

describe("Rate codec", () => {
  it("decodes what the generated decoder reads", () => {
    const r = seededRandom(1);
    for (let i = 0; i < 500; i++) {
      const frames = randomFrames(r);
      const bytes = Buffer.from(RateRequest.encode({ frames }).finish());
      const mine = decodeFrames(bytes);
      const theirs = RateRequest.decode(bytes);
      assert.equal(mine.frames.length, theirs.frames.length);
      for (const [fi, f] of mine.frames.entries()) {
        const g = theirs.frames[fi] as DataFrame;
        assert.equal(f.scopeId, g.scopeId);
        assert.equal(f.hasBegin, g.begin !== undefined);
        assert.equal(f.begin?.getTime(), g.begin?.getTime());
        // attr() reads one attribute from the bytes, groupby winning over metadata, before any map is
        // built; attrSlots() finds the slots of several names in one pass, as attrSlot() does one by one.
        for (const [pi, p] of f.points.entries()) {
          const want = g.points[pi] as DataPoint;
          const keys = [...new Set([...Object.keys(want.groupby), ...Object.keys(want.metadata), "absent-key"])];
          for (const key of keys) assert.equal(p.attr(key), want.groupby[key] ?? want.metadata[key], key);
          const slots = keys.map((_, k) => {
            const b = new ByteSlots();
            // Every other name knows its value, so both outcomes (found, not in the table) are checked.
            const v = want.groupby[keys[k] as string] ?? want.metadata[keys[k] as string];
            if (v !== undefined && k % 2 === 0) b.add(v, 100 + k);
            return b;
          });
          const table = new KeyTable(
            keys.map((k) => Buffer.from(k)),
            slots,
          );
          const out = new Int32Array(keys.length);
          p.attrSlots(table, out);
          assert.deepEqual(
            [...out],
            keys.map((k, i) => p.attrSlot(Buffer.from(k), slots[i] as ByteSlots)),
          );
          assert.equal(out[keys.length - 1], -2, "an absent name");
        }
        assert.deepEqual(
          f.points.map((p) => ({ type: p.type, unit: p.unit, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata })),
          g.points,
        );
      }
    }
  });

  it("re-encodes with the new prices, byte-identical to the generated encoder for canonical input", () => {
    const r = seededRandom(2);
    let changed = 0;
    for (let i = 0; i < 500; i++) {
      const { mine, theirs } = reencode(r, (p, twin) => {
        if (r() < 0.7) {
          p.price = pick(r, NEW_PRICES);
          twin.price = p.price;
          changed++;
        }
      });
      assert.ok(mine.equals(theirs), `case ${i}: ${mine.toString("hex")} != ${theirs.toString("hex")}`);
      assert.deepEqual(RateResponse.decode(mine), RateResponse.decode(theirs));
    }
    assert.ok(changed > 1000);
  });

  it("writes the unpriced points after the frames, byte-identical to the generated encoder, and reads them back", () => {
    const r = seededRandom(7);
    for (let i = 0; i < 100; i++) {
      const { frames, msg } = reencode(r, () => {});
      const unpriced = frames.slice(0, 3).map((f, j) => ({
        frame: j,
        points: String(f.points.length),
        types: [...new Set(f.points.map((p) => p.type))].sort(),
        reason: j % 2 === 0 ? UnpricedReason.UNPRICED_REASON_NO_RULE_IN_FORCE : UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED,
      }));
      msg.unpriced = unpriced;
      const mine = encodeFrames(msg);
      assert.ok(mine.equals(Buffer.from(RateResponse.encode({ frames, unpriced }).finish())), `case ${i}`);
      assert.deepEqual(decodeFrames(mine).unpriced ?? [], unpriced);
    }
  });

  it("writes fixed-point prices digit by digit, as their decimal strings encode", () => {
    const r = seededRandom(5);
    for (let i = 0; i < 300; i++) {
      const { frames, msg, mine, theirs } = reencode(r, (p, twin) => {
        if (r() < 0.2) return;
        const m = Math.floor(r() * 2 ** (1 + Math.floor(r() * 52))) * (r() < 0.2 ? -1 : 1);
        const sc = Math.floor(r() * 30);
        p.setFixedPrice(m, sc);
        twin.price = formatFixed(m, sc);
      });
      assert.ok(mine.equals(theirs), `case ${i}`);
      // Reading the price afterwards gives the same string.
      for (const [fi, f] of msg.frames.entries())
        for (const [pi, p] of f.points.entries()) assert.equal(p.price, frames[fi]?.points[pi]?.price);
    }
  });

  it("keeps fields in any order, unknown fields and repeated price fields as protobuf reads them", () => {
    // A point written by hand: price twice (the last one counts), an unknown
    // field 9 (varint) and 10 (bytes), fields out of order.
    const field = (n: number, s: string) => {
      const b = Buffer.from(s);
      return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
    };
    const entry = (n: number, k: string, v: string) => {
      const inner = Buffer.concat([field(1, k), field(2, v)]);
      return Buffer.concat([Buffer.from([(n << 3) | 2, inner.length]), inner]);
    };
    const point = Buffer.concat([
      field(4, "1"),
      entry(5, "flavor", "m1.nano"),
      entry(6, "flavor", "m1.xlarge"),
      entry(5, "flavor", "m1.tiny"),
      field(1, "compute"),
      Buffer.from([(9 << 3) | 0, 0x96, 0x01]),
      field(3, "2"),
      field(4, "5"),
      field(10, "opaque"),
      entry(6, "zone", "a"),
    ]);
    const frame = Buffer.concat([field(1, "p1"), Buffer.from([(4 << 3) | 2, point.length]), point, Buffer.from([(7 << 3) | 0, 1])]);
    const req = Buffer.concat([Buffer.from([(1 << 3) | 2, frame.length]), frame]);

    const msg = decodeFrames(req);
    const p = msg.frames[0]?.points[0];
    assert.ok(p !== undefined);
    // The last entry of a key counts; groupby wins over metadata.
    assert.equal(p.attr("flavor"), "m1.tiny");
    assert.equal(p.attr("zone"), "a");
    assert.deepEqual(
      { type: p.type, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata },
      { type: "compute", qty: "2", price: "5", groupby: { flavor: "m1.tiny" }, metadata: { flavor: "m1.xlarge", zone: "a" } },
    );
    p.price = "7.5";
    const out = RateResponse.decode(encodeFrames(msg));
    assert.equal(out.frames[0]?.scopeId, "p1");
    assert.deepEqual(out.frames[0]?.points[0], {
      type: "compute",
      unit: "",
      qty: "2",
      price: "7.5",
      groupby: { flavor: "m1.tiny" },
      metadata: { flavor: "m1.xlarge", zone: "a" },
    });

    // Unchanged prices copy the request's bytes as they are.
    const again = decodeFrames(req);
    assert.ok(encodeFrames(again).subarray(0).includes(point));
  });

  it("refuses truncated and malformed messages", () => {
    // One frame: every proper prefix cuts it.
    const r = seededRandom(4);
    const frame = { scopeId: "p", begin: new Date(), end: undefined, points: [randomPoint(r), randomPoint(r)] };
    const bytes = Buffer.from(RateRequest.encode({ frames: [frame] }).finish());
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.throws(() => decodeFrames(bytes.subarray(0, cut)), WireFormatError, `cut at ${cut}`);
    }
    assert.throws(() => decodeFrames(Buffer.from([0x0b])), WireFormatError);
  });
});
