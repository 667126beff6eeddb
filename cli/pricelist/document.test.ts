/** The YAML price list: exact decimals whatever the quoting, canonical output, errors that name the path. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CliError } from "../errors.js";
import { HEADER, parsePriceList, renderPriceList } from "./document.js";

const CANONICAL = `${HEADER}groups:
  - gold
services:
  - name: instance
    fields:
      - name: flavor_name
        mappings:
          - value: m1.small
            type: flat
            cost: "0.02"
            group: gold
            start: 2026-01-01T00:00:00Z
  - name: volume.size
    mappings:
      - type: flat
        cost: "0.0002"
        start: 2026-01-01T00:00:00Z
        end: 2027-01-01T00:00:00Z
    thresholds:
      - level: "50"
        type: flat
        cost: "1"
      - level: "100"
        type: rate
        cost: "0.95"
`;

function refusal(text: string): string {
  try {
    parsePriceList(text, "p.yaml");
  } catch (err) {
    assert.ok(err instanceof CliError && err.kind === "invalid_argument", String(err));
    return err.message;
  }
  assert.fail("the file was accepted");
}

describe("price list document", () => {
  it("renders what it parsed, canonically", () => {
    assert.equal(renderPriceList(parsePriceList(CANONICAL, "p.yaml")), CANONICAL);
  });

  it("keeps a cost's digits when it is not quoted, fills defaults and sorts", () => {
    const list = parsePriceList(
      `services:\n  - name: b\n    mappings:\n      - cost: 0.10\n        start: 2026-01-01\n  - name: a\n`,
      "p.yaml",
    );
    assert.deepEqual(list.services[0]?.mappings[0], { type: "flat", cost: "0.10", start: "2026-01-01T00:00:00Z" });
    assert.equal(
      renderPriceList(list),
      `${HEADER}groups: []\nservices:\n  - name: a\n  - name: b\n    mappings:\n      - type: flat\n        cost: "0.10"\n        start: 2026-01-01T00:00:00Z\n`,
    );
  });

  it("names the path of what is wrong", () => {
    assert.equal(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: 1,5\n"),
      'p.yaml: services[0].mappings[0].cost: "1,5" is not an exact decimal (e.g. "0.01", "12.5")',
    );
    assert.match(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: '1'\n        colour: red\n"),
      /services\[0\]\.mappings\[0\]\.colour: unknown key/,
    );
    assert.match(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: '1'\n        group: g\n"),
      /group "g" is not in the groups list/,
    );
    assert.match(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: '1'\n        value: x\n"),
      /services\[0\]\.mappings\[0\]\.value: a service mapping has no value/,
    );
    assert.match(
      refusal("services:\n  - name: a\n    fields:\n      - name: f\n        mappings:\n          - cost: '1'\n"),
      /fields\[0\]\.mappings\[0\]\.value: is required/,
    );
    assert.match(refusal("services:\n  - name: a\n  - name: a\n"), /services\[1\]: service "a" appears twice/);
    assert.match(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: '1'\n        type: percent\n"),
      /type: "percent" is not a rule type/,
    );
    assert.match(
      refusal("services:\n  - name: a\n    mappings:\n      - cost: '1'\n        start: soon\n"),
      /start: "soon" is not an RFC 3339 time/,
    );
    assert.match(refusal("services: [\n"), /^p\.yaml: /);
  });
});
