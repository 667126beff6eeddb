/**
 * The Gnocchi collector's rules on their own: extra_args validation in a
 * metrics.yml, CloudKitty's operation and filter shapes, the latest-revision
 * rule, which custom queries batch, and the batch split at its edges.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMetrics } from "../metrics.js";
import type { AggregateGroup } from "../sources/gnocchi.js";
import { parseJsonNumbersAsText } from "../sources/json.js";
import { metricsProblems } from "../testkit.js";
import {
  aggregatesSearch,
  aggregationOperation,
  gnocchiArgs,
  gnocchiExtraArgs,
  isPointwiseQuery,
  keepLatestRevisions,
  resourcesSearch,
  splitByPeriod,
} from "./gnocchi-query.js";

const parse = (yaml: string) => parseMetrics(yaml, "metrics.yml", { scopeKey: "project_id", extraArgs: gnocchiExtraArgs });

describe("Gnocchi extra_args in metrics.yml", () => {
  it("fills CloudKitty's code defaults and adds resource_key to the groupby", () => {
    const [m] = parse("metrics:\n  cpu:\n    unit: instance\n    groupby: [user_id]\n    extra_args: {resource_type: instance}\n");
    assert.deepEqual(m?.groupby, ["user_id", "project_id", "id"]);
    assert.deepEqual(m?.extraArgs, {
      resource_type: "instance",
      resource_key: "id",
      aggregation_method: "max",
      re_aggregation_method: "max",
      force_granularity: 3600,
      use_all_resource_revisions: true,
      custom_query: "",
    });
  });

  it("reports every problem with the metric and the key", () => {
    const problems = metricsProblems(() =>
      parse(`
metrics:
  cpu:
    unit: instance
    groupby: [flavor]
    metadata: [flavor]
    mutate: MAP
    extra_args:
      aggregation_method: avg
      re_aggregation_method: 50pct
      force_granularity: -1
      use_all_resource_revisions: "no"
      granularity: 300
  image.size:
    unit: MiB
    factor: 1/0
    extra_args: {resource_type: ""}
`),
    );
    assert.deepEqual(problems, [
      "metric cpu: mutate_map: is required (a map) when mutate is MAP",
      "metric cpu: extra_args.granularity: unknown argument (known: resource_type, resource_key, aggregation_method, re_aggregation_method, force_granularity, use_all_resource_revisions, custom_query)",
      "metric cpu: extra_args.resource_type: is required (a non-empty string)",
      'metric cpu: extra_args.aggregation_method: "avg" is not one of mean, sum, last, max, min, std, median, first, count, rate:<those>, 1pct..99pct or rate:1pct..rate:99pct',
      'metric cpu: extra_args.re_aggregation_method: "50pct" is not one of mean, sum, last, max, min, std, median, first, count or rate:<those>',
      "metric cpu: extra_args.force_granularity: -1 is not an integer >= 0 (seconds)",
      'metric cpu: extra_args.use_all_resource_revisions: "no" is not a boolean',
      'metric cpu: metadata: "flavor" is also in groupby: an attribute is either grouped on or metadata',
      'metric image.size: factor: "1/0" is not a number or a fraction such as "1/1048576"',
      "metric image.size: extra_args.resource_type: must be a non-empty string",
    ]);
  });
});

describe("Gnocchi query shapes", () => {
  const a = gnocchiArgs(
    parse(
      "metrics:\n  cpu:\n    unit: i\n    extra_args: {resource_type: instance, aggregation_method: mean, re_aggregation_method: 'rate:max'}\n",
    )[0]?.extraArgs ?? {},
  );

  it("builds CloudKitty's operation, or its custom query with the placeholders replaced", () => {
    assert.deepEqual(aggregationOperation("cpu", a), ["aggregate", "rate:max", ["metric", "cpu", "mean"]]);
    assert.equal(
      aggregationOperation("cpu", {
        ...a,
        re_aggregation_method: "max",
        custom_query: "(* (aggregate RE_AGGREGATION_METHOD (metric METRIC_NAME AGGREGATION_METHOD)) -1)",
      }),
      "(* (aggregate max (metric cpu mean)) -1)",
    );
  });

  it("filters on the resource type and the scope; several scopes with in", () => {
    assert.deepEqual(aggregatesSearch("instance", "project_id", ["p1"]), {
      and: [{ "=": { type: "instance" } }, { "=": { project_id: "p1" } }],
    });
    assert.deepEqual(aggregatesSearch("instance", "project_id", ["p1", "p2"]), {
      and: [{ "=": { type: "instance" } }, { in: { project_id: ["p1", "p2"] } }],
    });
    assert.deepEqual(resourcesSearch("project_id", ["p1"], new Date("2026-01-01T10:00:00Z"), new Date("2026-01-01T11:00:00Z"), 3600), {
      and: [
        { or: [{ "=": { ended_at: null } }, { ">=": { ended_at: "2026-01-01T09:00:00+00:00" } }] },
        { "<=": { started_at: "2026-01-01T12:00:00+00:00" } },
        { "=": { project_id: "p1" } },
      ],
    });
  });

  it("batches only custom queries whose operators are pointwise", () => {
    assert.ok(isPointwiseQuery("(* (aggregate max (metric cpu mean)) -1)"));
    assert.ok(isPointwiseQuery("(+ (aggregate sum (metric a mean)) (aggregate sum (metric b mean)))"));
    assert.ok(!isPointwiseQuery("(aggregate rate:max (metric cpu mean))"));
    assert.ok(!isPointwiseQuery("(rateofchange (aggregate max (metric cpu mean)))"));
    assert.ok(!isPointwiseQuery("(rolling sum 2 (metric cpu mean))"));
    assert.ok(!isPointwiseQuery("(resample mean 3600 (metric cpu mean))"));
  });
});

describe("use_all_resource_revisions = false", () => {
  it("keeps each id's latest revision and sums the single aggregates of all its revisions, in floats as CloudKitty", () => {
    const groups = parseJsonNumbersAsText(
      JSON.stringify([
        { group: { id: "a", revision_start: "2026-01-02" }, aggregated: [["t", 300.0, 0.1]] },
        { group: { id: "b", revision_start: "2026-01-01" }, aggregated: [["t", 300.0, 5]] },
        { group: { id: "a", revision_start: "2026-01-01" }, aggregated: [["t", 300.0, 0.2]] },
        {
          group: { id: "b", revision_start: "2026-01-03" },
          aggregated: [
            ["t", 300.0, 1],
            ["u", 300.0, 2],
          ],
        },
      ]),
    ) as AggregateGroup[];
    const kept = keepLatestRevisions(groups);
    assert.deepEqual(
      kept.map((g) => [g.group.id, g.group.revision_start, g.aggregated[0]?.[2]]),
      [
        // 0.1 + 0.2 in floats.
        ["a", "2026-01-02", "0.30000000000000004"],
        // b's latest revision has two aggregates: it is not zeroed, and gets b's single one added.
        ["b", "2026-01-03", "6"],
      ],
    );
    // Without ids, nothing changes.
    const noId = [{ group: { user_id: "u" }, aggregated: [] }] as AggregateGroup[];
    assert.equal(keepLatestRevisions(noId), noId);
  });
});

describe("batch split", () => {
  const H = 3_600_000;
  const t = (h: number, m = 0) => new Date(Date.UTC(2026, 0, 1, h, m)).toISOString().replace(".000Z", "+00:00");
  const group = (items: Array<[string, number, number]>): AggregateGroup[] =>
    parseJsonNumbersAsText(JSON.stringify([{ group: { id: "r" }, aggregated: items }])) as AggregateGroup[];
  const base = Date.UTC(2026, 0, 1);

  it("gives each period the window's aggregates inside it, largest granularity first, the start rounded to each granularity", () => {
    const split = splitByPeriod(
      group([
        [t(0), 7200, 70],
        [t(2), 7200, 72],
        [t(0, 55), 300, 1],
        [t(1, 0), 300, 2],
        [t(1, 5), 300, 3],
      ]),
      [base, base + H, base + 2 * H],
      H,
      0,
      { kind: "pointwise" },
    );
    assert.deepEqual(
      [...split.values()].map((gs) => gs[0]?.aggregated.map((a) => `${a[1]}:${a[2]}`)),
      [
        ["7200:70", "300:1"],
        // 01:00's request starts at 00:00 for the 2-hour series: its 00:00 bucket comes first.
        ["7200:70", "300:2", "300:3"],
        ["7200:72"],
      ],
    );
  });

  it("recomputes rates per period from the plain aggregates, the start moved back", () => {
    const split = splitByPeriod(
      group([
        [t(0, 50), 300, 10],
        [t(0, 55), 300, 16],
        [t(1, 10), 300, 30],
        [t(1, 15), 300, 31],
      ]),
      [base + H],
      H,
      300_000,
      { kind: "rate" },
    );
    // [00:55, 02:00): 00:55 -> 01:10 is 14, 01:10 -> 01:15 is 1; 00:50 is outside.
    assert.deepEqual(split.get(base + H)?.[0]?.aggregated, [
      [t(1, 10), "300", "14"],
      [t(1, 15), "300", "1"],
    ]);
  });
});
