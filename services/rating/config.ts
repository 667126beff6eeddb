/** The configuration rating reads: its own database (price lists, module states), its address, and storage's (simulations read stored points). */
import {
  billingTimeZoneOption,
  billingTimeZoneProblem,
  checkDatabaseService,
  commonSections,
  databaseServiceOptions,
  endpointProblem,
  serviceAddress,
} from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { duration, int, tolerated } from "../../libs/config/options.js";
import { trustValues } from "../../libs/config/trust.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";

const rating = {
  ...databaseServiceOptions(
    "rating",
    { listen: "127.0.0.1:9632", metrics: "127.0.0.1:9642" },
    {
      backends: ["sqlite", "postgresql"],
      backendHelp: "Engine of the rating service's own tables (price lists, module states): sqlite or postgresql.",
      urlHelp: "sqlite: path of the database file. postgresql: a connection URL.",
      defaultFile: "ratemesh-rating.sqlite",
    },
  ),
  refresh_interval: duration({
    help: "How often each rating replica checks whether price lists or module states changed (one primary-key read); a change made elsewhere is priced with after at most this long plus a reload.",
    default: 0.25,
    min: 0.05,
    max: 60,
  }),
  rules_frame_timeout: duration({
    help: "Wall time one frame may spend in CEL price rules before the Rate call fails with DEADLINE_EXCEEDED.",
    default: 2,
    min: 0.01,
  }),
  simulation_max_days: int({
    help: "The longest window SimulationService/Simulate reprices, in days (a longer one is INVALID_ARGUMENT naming end).",
    default: 400,
    min: 1,
  }),
  simulation_max_groups: int({
    help: "The most groups (rows) one simulation may make; more is INVALID_ARGUMENT naming group_by.",
    default: 100000,
    min: 1,
  }),
};

/** How rating reaches storage (SimulationService reads the stored points there). */
const storage = serviceAddress("storage", "127.0.0.1:9631");

/** Simulations give tiered prices the month-to-date quantity of each billing month, as the collector does. */
const collect = { billing_time_zone: billingTimeZoneOption };

/** CloudKitty's SQL database (price lists, module and scope states): ratemesh keeps them in its services' own databases. */
const database = {
  "*": tolerated({
    help: "CloudKitty's SQL database; ratemesh keeps price lists and module states in [rating] url and scope states in [storage] url (`ratemesh migrate from-cloudkitty` copies them)",
  }),
};

/** Callers' tokens come from Keystone, validated per [keystone_authtoken] as OpenStack's auth token middleware does. */
export const identityService = { strategy: "keystone", section: "keystone_authtoken", name: "Keystone" } as const;

export const ratingConfig = defineServiceConfig("rating", { ...commonSections(identityService), rating, storage, collect, database }, [
  ({ config: c, report }) => {
    checkDatabaseService("rating", c.rating, trustValues(c, identityService), c.server.allow_insecure_bind, report);
    const bad = endpointProblem(c.storage.endpoint);
    if (bad !== undefined) report("storage", "endpoint", bad);
    const zone = billingTimeZoneProblem(c.collect.billing_time_zone);
    if (zone !== undefined) report("collect", "billing_time_zone", zone);
  },
]);

export type RatingConfig = ConfigOf<typeof ratingConfig.sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadRatingConfig(opts: Omit<LoadOptions, "catalog"> = {}): RatingConfig {
  return loadConfig(ratingConfig, { ...opts, catalog: CONFIG_CATALOG });
}
