/**
 * Tiered and time-of-use prices in process, next to the same service with a
 * plain flat mapping: 1,000,000 points (100 frames of 10,000, one period an
 * hour over four days, month-to-date growing frame by frame). Tiered points
 * take the exact BigInt path (one F(month to date) per point); time of use
 * only picks the view, so it prices as fast as a plain mapping.
 *
 *   node dist/services/rating/bench/tiers.bench.js
 */
import type { RatingFrame } from "../domain.js";
import { HashmapIndex } from "../modules/hashmap/hashmap-index.js";
import type { HashmapData, MappingRow } from "../modules/hashmap/model.js";
import { HashmapModule } from "../modules/hashmap/module.js";

const FRAMES = 100;
const POINTS = 10_000;

function mapping(over: Partial<MappingRow>): MappingRow {
  return {
    ...{ mappingId: "m", serviceId: "s", fieldId: null, value: null, type: "flat", cost: "0.10", groupId: null, tenantId: null },
    ...{ start: 0, end: null, name: null, description: "", createdAt: 0, deletedAt: null, seq: 1 },
    ...over,
  };
}

function priceList(m: MappingRow): HashmapData {
  return { services: [{ serviceId: "s", name: "volume.size", seq: 1 }], fields: [], groups: [], mappings: [m], thresholds: [] };
}

function frames(): RatingFrame[] {
  return Array.from({ length: FRAMES }, (_, f) => ({
    scopeId: "acme",
    at: new Date(Date.UTC(2026, 2, 1, f)),
    monthToDate: new Map([["volume.size", String(f * 250_000)]]),
    points: Array.from({ length: POINTS }, (_, i) => ({
      type: "volume.size",
      unit: "GiB",
      qty: `${1 + (i % 97)}.25`,
      price: "0",
      groupby: {},
      metadata: {},
    })),
  }));
}

function bench(label: string, data: HashmapData): void {
  const module = new HashmapModule(() => new HashmapIndex(data));
  module.rate(frames()[0] as RatingFrame);
  const input = frames();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const f of input) module.rate(f);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const points = FRAMES * POINTS;
  const perCpu = points / ((cpu.user + cpu.system) / 1e6);
  console.log(`  ${label}: ${(points / wall / 1e6).toFixed(2)} M points/s (${(perCpu / 1e6).toFixed(2)} M per CPU-second)`);
}

console.log(`hashmap, ${FRAMES * POINTS} points in ${FRAMES} frames of ${POINTS}:`);
bench("plain flat 0.10", priceList(mapping({})));
bench(
  "graduated tiers (0: 0.10, 1000: 0.08, 1000000: 0.05)",
  priceList(
    mapping({
      tiers: {
        mode: "graduated",
        tiers: [
          { from: "0", price: "0.10" },
          { from: "1000", price: "0.08" },
          { from: "1000000", price: "0.05" },
        ],
      },
    }),
  ),
);
bench(
  "time of use (Europe/Paris, off-peak nights and weekends)",
  priceList(
    mapping({
      timeOfUse: {
        timeZone: "Europe/Paris",
        windows: [
          { days: [], from: 22 * 60, to: 6 * 60, cost: "0.05" },
          { days: [0, 6], from: 0, to: 0, cost: "0.05" },
        ],
      },
    }),
  ),
);
