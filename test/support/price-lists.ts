/**
 * Price lists for the tests of versioned price lists: an instance priced by
 * flavor, its points, and instants rounded to the second.
 */
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import type { PriceListContent } from "../../libs/gen/ratemesh/v1/pricelist.js";
import { MappingType } from "../../libs/gen/ratemesh/v1/rating.js";

export const HOUR = 3600_000;
export const FLAT = MappingType.MAPPING_TYPE_FLAT;

export function point(flavor: string, qty: string): DataPoint {
  return { type: "instance", unit: "", qty, price: "0", groupby: { id: `vm-${flavor}` }, metadata: { flavor } };
}

/** The whole-second instant `ms` from now (Timestamps keep milliseconds, but round numbers read better). */
export function fromNow(ms: number): Date {
  return new Date(Math.floor((Date.now() + ms) / 1000) * 1000);
}

/** m1.large flat 1.20 and m1.small flat `small`, as a draft's content. */
export function content(small: string, extra: Partial<PriceListContent> = {}): PriceListContent {
  return {
    groups: [],
    services: [
      {
        name: "instance",
        mappings: [],
        thresholds: [],
        fields: [
          {
            name: "flavor",
            mappings: [
              { value: "m1.large", type: FLAT, cost: "1.20", group: "", tenant: "", name: "", description: "" },
              { value: "m1.small", type: FLAT, cost: small, group: "", tenant: "", name: "", description: "" },
            ],
            thresholds: [],
          },
        ],
      },
    ],
    rules: [],
    ...extra,
  };
}

/** A hashmap price list file with a time-of-use instance price and graduated tiers on storage.gb. */
export const TIERED_PRICES = `groups: []
services:
  - name: instance
    mappings:
      - type: flat
        cost: "0.10"
        start: 2026-01-01T00:00:00Z
        time_of_use: UTC; 22:00-06:00=0.05; sat,sun=0.05
  - name: storage.gb
    mappings:
      - type: flat
        cost: "0"
        start: 2026-01-01T00:00:00Z
        tiers: graduated 0:0.10, 1000:0.08
`;
