/** The one-line forms of tiered and time-of-use prices, in the CLI's flags and the YAML price list. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TierMode } from "../../libs/gen/ratemesh/v1/rating.js";
import { CliError } from "../errors.js";
import { parsePriceList, renderPriceList } from "./document.js";
import { formatTiers, formatTimeOfUse, parseTiers, parseTimeOfUse } from "./shapes.js";

describe("tiers and time of use on one line", () => {
  it("reads tiers with or without a mode, and writes them back canonically", () => {
    assert.deepEqual(parseTiers("0:0.10, 1000:0.08"), {
      mode: TierMode.TIER_MODE_GRADUATED,
      tiers: [
        { from: "0", price: "0.10" },
        { from: "1000", price: "0.08" },
      ],
    });
    const volume = parseTiers("volume 0:1,10:0.5");
    assert.ok(typeof volume !== "string");
    assert.equal(formatTiers(volume), "volume 0:1, 10:0.5");
    assert.match(parseTiers("0=0.10") as string, /is not FROM:PRICE/);
  });

  it("reads windows with a zone, days, ranges of days and hours", () => {
    assert.deepEqual(parseTimeOfUse("Europe/Paris; 22:00-6:00=0.05; sat,sun=0.05; mon-wed 09:00-17:00=0.2"), {
      timeZone: "Europe/Paris",
      windows: [
        { days: [], from: "22:00", to: "06:00", cost: "0.05" },
        { days: ["sat", "sun"], from: "", to: "", cost: "0.05" },
        { days: ["mon", "tue", "wed"], from: "09:00", to: "17:00", cost: "0.2" },
      ],
    });
    // As rating answers it (days from Sunday, whole days as 00:00-00:00), written in one spelling.
    assert.equal(
      formatTimeOfUse({ timeZone: "UTC", windows: [{ days: ["sun", "sat"], from: "00:00", to: "00:00", cost: "0.05" }] }),
      "UTC; sat,sun=0.05",
    );
    assert.match(parseTimeOfUse("UTC") as string, /at least one window/);
    assert.match(parseTimeOfUse("someday=1") as string, /is not a day/);
  });

  it("round-trips through the YAML price list, a tiered mapping needing no cost", () => {
    const text = `services:
  - name: storage.gb
    mappings:
      - tiers: 0:0.10,1000:0.08
  - name: instance
    mappings:
      - cost: 0.10
        time_of_use: 22:00-06:00=0.05; sun,sat=0.05
`;
    const list = parsePriceList(text, "p.yaml");
    assert.deepEqual(list.services[0]?.mappings[0], { type: "flat", cost: "0", tiers: "graduated 0:0.10, 1000:0.08" });
    assert.equal(list.services[1]?.mappings[0]?.time_of_use, "UTC; 22:00-06:00=0.05; sat,sun=0.05");
    const rendered = renderPriceList(list);
    assert.equal(renderPriceList(parsePriceList(rendered, "p.yaml")), rendered);
    assert.throws(
      () => parsePriceList("services:\n  - name: x\n    mappings:\n      - tiers: 0-0.10\n", "p.yaml"),
      (e: unknown) => e instanceof CliError && /services\[0\]\.mappings\[0\]\.tiers: "0-0.10" is not FROM:PRICE/.test(e.message),
    );
  });
});
