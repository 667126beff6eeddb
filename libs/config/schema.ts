/**
 * The whole ratemesh configuration: one INI file shared by every service,
 * with CloudKitty's section and option names where the concept is the same.
 * Each service validates the whole file (an unknown option is an error
 * wherever it is) and checks the values it needs. Sections are declared in
 * sections/, one file per owner, each with its checks across options.
 */
import type { CheckContext } from "./check.js";
import type { Option, OptionValue } from "./options.js";
import * as collect from "./sections/collect.js";
import * as core from "./sections/core.js";
import * as gnocchi from "./sections/gnocchi.js";
import * as orchestrator from "./sections/orchestrator.js";
import * as prometheus from "./sections/prometheus.js";
import * as rating from "./sections/rating.js";
import * as storage from "./sections/storage.js";

const parts = [core, storage, rating, collect, orchestrator, gnocchi, prometheus];

export const schema = {
  ...core.sections,
  ...storage.sections,
  ...rating.sections,
  ...collect.sections,
  ...orchestrator.sections,
  ...gnocchi.sections,
  ...prometheus.sections,
} satisfies Record<string, Record<string, Option<unknown>>>;

export type Schema = typeof schema;
export type SectionName = keyof Schema;

export type Config = {
  readonly [S in SectionName]: { readonly [O in keyof Schema[S]]: OptionValue<Schema[S][O]> };
};

export type ServiceName = "storage" | "rating" | "collector";

/** Every section file's checks across options; all run, so every problem is reported at once. */
export const checks: Array<(ctx: CheckContext) => void> = parts.flatMap((p) => ("checks" in p ? [p.checks] : []));
