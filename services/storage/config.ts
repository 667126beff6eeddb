/**
 * The configuration storage reads: its engine and address, the period
 * length it checks windows against, and what it needs to refuse a commit
 * from a clock that runs ahead ([collect] wait_periods, [storage]
 * clock_skew_tolerance).
 */
import {
  billingTimeZoneOption,
  billingTimeZoneProblem,
  checkDatabaseService,
  commonSections,
  databaseServiceOptions,
  periodOption,
  periodProblem,
  waitPeriodsOption,
} from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { duration, int, tolerated } from "../../libs/config/options.js";
import { trustValues } from "../../libs/config/trust.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";

const storage = {
  ...databaseServiceOptions(
    "storage",
    { listen: "127.0.0.1:9631", metrics: "127.0.0.1:9641" },
    {
      backends: ["sqlite", "postgresql"],
      backendHelp: "Storage engine: sqlite (one file, embedded) or postgresql.",
      urlHelp:
        "sqlite: path of the database file (':memory:' for a throwaway one). postgresql: a connection URL, postgresql://user:password@host:port/dbname.",
      defaultFile: "ratemesh-storage.sqlite",
      refusals: Object.fromEntries(
        ["influxdb", "elasticsearch", "opensearch", "loki", "sqlalchemy", "hybrid", "gnocchi"].map((b) => [
          b,
          `ratemesh keeps rated data in its storage service, not in CloudKitty's ${b} backend: use backend = postgresql (url = postgresql://…) or sqlite (url = a file); \`ratemesh migrate from-cloudkitty\` writes these options`,
        ]),
      ),
    },
  ),
  version: tolerated({
    help: "CloudKitty's storage API version; ratemesh's storage answers both of CloudKitty's APIs through the REST gateway",
    refusals: { "1": "CloudKitty's v1 storage is not supported: ratemesh's storage is the v2 kind (remove the option or set version = 2)" },
  }),
  pool_size: int({
    help: "postgresql: connections to the database at most, shared by every call of this storage process.",
    default: 10,
    min: 1,
    max: 1000,
  }),
  cache_size: int({
    help: "sqlite: page cache of the database file, in MiB (more keeps more of a large database's rollups in memory).",
    default: 64,
    min: 1,
    max: 65536,
  }),
  clock_skew_tolerance: duration({
    help: "How far ahead of storage's clock a committer's clock may run: a commit whose period ends after now + this, minus [collect] wait_periods, is refused (its usage may not all be in yet).",
    default: 300,
    min: 0,
  }),
};

/** CloudKitty's storage backends' own sections: its rated data moves to ratemesh's storage, so they have no meaning here. */
const cloudkittyStorage = Object.fromEntries(
  ["storage_influxdb", "storage_elasticsearch", "storage_opensearch", "storage_loki", "storage_gnocchi"].map((s) => [
    s,
    { "*": tolerated({ help: "CloudKitty's storage backend options; ratemesh's storage is [storage] backend and url" }) },
  ]),
);

/** Callers' tokens come from Keystone, validated per [keystone_authtoken] as OpenStack's auth token middleware does. */
export const identityService = { strategy: "keystone", section: "keystone_authtoken", name: "Keystone" } as const;

export const storageConfig = defineServiceConfig(
  "storage",
  {
    ...commonSections(identityService),
    storage,
    collect: { period: periodOption, wait_periods: waitPeriodsOption, billing_time_zone: billingTimeZoneOption },
    ...cloudkittyStorage,
  },
  [
    ({ config: c, report }) => {
      checkDatabaseService("storage", c.storage, trustValues(c, identityService), c.server.allow_insecure_bind, report);
      const period = periodProblem(c.collect.period);
      if (period !== undefined) report("collect", "period", period);
      const zone = billingTimeZoneProblem(c.collect.billing_time_zone);
      if (zone !== undefined) report("collect", "billing_time_zone", zone);
    },
  ],
);

export type StorageConfig = ConfigOf<typeof storageConfig.sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadStorageConfig(opts: Omit<LoadOptions, "catalog"> = {}): StorageConfig {
  return loadConfig(storageConfig, { ...opts, catalog: CONFIG_CATALOG });
}
