import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import type { ExtraArgsValidator } from "./metrics.js";
import { parseMetrics } from "./metrics.js";
import { convertQuantity } from "./quantity.js";
import { metricsProblems } from "./testkit.js";

const anyArgs: ExtraArgsValidator = (args) => ({ args, groupbyExtra: [] });
const parse = (yaml: string) => parseMetrics(yaml, "metrics.yml", { scopeKey: "project_id", extraArgs: anyArgs });

describe("metrics.yml", () => {
  it("reads CloudKitty's format: one or several rating types per metric, fractions, scope key added", () => {
    const metrics = parse(`
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id, user_id, project_id]
    metadata: [flavor_name]
    mutate: NUMBOOL
  image.size:
    unit: MiB
    factor: 1/1048576
    groupby: [id]
  volume.size:
    - unit: GiB
      groupby: [id]
    - unit: GiB
      alt_name: volume.ssd
      offset: 0.5
      groupby: [id, volume_type]
`);
    assert.deepEqual(
      metrics.map((m) => [m.key, m.altName, m.groupby.join(","), m.factor.toString()]),
      [
        ["cpu@#instance", "instance", "id,user_id,project_id", "1"],
        ["image.size", "image.size", "id,project_id", "0.00000095367431640625"],
        ["volume.size", "volume.size", "id,project_id", "1"],
        ["volume.size@#volume.ssd", "volume.ssd", "id,volume_type,project_id", "1"],
      ],
    );
  });

  it("reports every problem with the metric and the key", () => {
    const problems = metricsProblems(() =>
      parse(`
metrics:
  a:
    groupby: [x]
    metadata: [x]
    mutate: ROUND
    mutate_map: {1: 2}
    extra: 1
  b:
    - unit: u
    - unit: u
  c:
    unit: u
    mutate: MAP
`),
    );
    assert.deepEqual(problems, [
      "metric a: extra: unknown key (known: unit, alt_name, groupby, metadata, factor, offset, mutate, mutate_map, description, extra_args, skip_datapoints_expression)",
      "metric a: unit: is required and must be a non-empty string",
      'metric a: mutate: "ROUND" is not one of NONE, NUMBOOL, NOTNUMBOOL, FLOOR, CEIL, MAP',
      "metric a: mutate_map: is only allowed when mutate is MAP",
      'metric a: metadata: "x" is also in groupby: an attribute is either grouped on or metadata',
      "metric b[1]: alt_name: b is defined twice (give each rating type of b its own alt_name)",
      "metric c: mutate_map: is required (a map) when mutate is MAP",
    ]);
  });

  it("refuses a file without metrics", () => {
    assert.throws(() => parse("metrics: {}\n"), /'metrics' is required/);
    assert.throws(() => parse(""), /'metrics' is required/);
  });
});

describe("quantity pipeline", () => {
  const metric = (extra: string) => parse(`metrics:\n  m:\n    unit: u\n${extra}`)[0] as NonNullable<ReturnType<typeof parse>[0]>;
  const q = (extra: string, v: string) => convertQuantity(Decimal.parse(v), metric(extra)).toString();

  it("applies factor then offset exactly", () => {
    assert.equal(q("    factor: 1/1048576\n", "2147483648"), "2048.00000000000000000000");
    assert.equal(q("    factor: 3\n    offset: -0.5\n", "0.1"), "-0.2");
  });

  it("mutates after conversion, as CloudKitty", () => {
    assert.equal(q("    mutate: NUMBOOL\n", "0.0"), "0");
    assert.equal(q("    mutate: NUMBOOL\n", "-3"), "1");
    assert.equal(q("    mutate: NOTNUMBOOL\n", "0"), "1");
    assert.equal(q("    mutate: FLOOR\n", "-2.5"), "-3");
    // Exact decimals: 9.9 x 10 is 99, so CEIL gives 99 (CloudKitty's float path gives 100).
    assert.equal(q("    factor: 10\n    mutate: CEIL\n", "9.9"), "99");
    const map = "    mutate: MAP\n    mutate_map:\n      11.0: 1\n      12: 2.5\n";
    assert.equal(q(map, "11"), "1");
    assert.equal(q(map, "12.00"), "2.5");
    assert.equal(q(map, "13"), "0");
  });
});
