/**
 * What the collector's tests share: a clock they set by hand, metrics.yml
 * snippets parsed as a service parses them, configuration files and
 * environments for a collector service, and usage seeded in Gnocchi.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { ConfigFileError } from "../../libs/config/config.js";
import type { Clock } from "../../libs/time/period.js";
import { type GnocchiServer, type Measure, pushMeasures, waitProcessed } from "../../test/support/gnocchi.js";
import { tempDir } from "../../test/support/mesh.js";
import { gnocchiExtraArgs } from "./collectors/gnocchi-query.js";
import { type MetricConfig, parseMetrics } from "./metrics.js";

/** A clock that stands still at `t` (epoch ms) until a test moves it. */
export class ManualClock implements Clock {
  constructor(public t: number) {}
  now(): Date {
    return new Date(this.t);
  }
}

/** The first metric of a metrics.yml for the Gnocchi collector, scoped by project_id. */
export function gnocchiMetric(yaml: string, file = "metrics.yml"): MetricConfig {
  const [metric] = parseMetrics(yaml, file, { scopeKey: "project_id", extraArgs: gnocchiExtraArgs });
  assert.ok(metric !== undefined, `${file} has a metric`);
  return metric;
}

/** The problems a metrics.yml is refused with; fails when it is not refused. */
export function metricsProblems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof ConfigFileError, String(err));
    return err.problems;
  }
  assert.fail("expected an error");
}

/** Writes a collector service's ratemesh.conf in a directory of the test's own; returns its path. */
export function configFile(t: TestContext, text: string): string {
  const file = join(tempDir(t), "ratemesh.conf");
  writeFileSync(file, text);
  return file;
}

/**
 * The environment of a collector service using the Gnocchi collector and a
 * static fetcher, with these [collector_gnocchi] options.
 */
export function gnocchiCollectorEnv(options: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    RATEMESH_COLLECT__COLLECTOR: "gnocchi",
    RATEMESH_FETCHER__BACKEND: "source",
    RATEMESH_FETCHER_SOURCE__SOURCES: "x",
  };
  for (const [option, value] of Object.entries(options)) env[`RATEMESH_COLLECTOR_GNOCCHI__${option.toUpperCase()}`] = value;
  return env;
}

/**
 * Creates a resource in Gnocchi with one metric (archive policy
 * "ratemesh") holding one measure, and waits until Gnocchi has processed it.
 */
export async function seedMeasure(
  g: GnocchiServer,
  resourceType: string,
  attributes: Record<string, unknown>,
  metric: string,
  measure: Measure,
): Promise<void> {
  const id = randomUUID();
  await g.api("POST", `/v1/resource/${resourceType}`, { id, ...attributes, metrics: { [metric]: { archive_policy_name: "ratemesh" } } });
  await pushMeasures(g, { [id]: { [metric]: [measure] } });
  await waitProcessed(g);
}
