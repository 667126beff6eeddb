/** The configuration rating reads: its own database (price lists, module states) and its address. */
import { checkDatabase, commonSections, databaseServiceOptions } from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { duration, tolerated } from "../../libs/config/options.js";
import { checkServed, checkTrust, trustValues } from "../../libs/config/trust.js";
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
};

/** CloudKitty's SQL database (price lists, module and scope states): ratemesh keeps them in its services' own databases. */
const database = {
  "*": tolerated({
    help: "CloudKitty's SQL database; ratemesh keeps price lists and module states in [rating] url and scope states in [storage] url (`ratemesh migrate from-cloudkitty` copies them)",
  }),
};

/** Callers' tokens come from Keystone, validated per [keystone_authtoken] as OpenStack's auth token middleware does. */
export const identityService = { strategy: "keystone", section: "keystone_authtoken", name: "Keystone" } as const;

export const ratingConfig = defineServiceConfig("rating", { ...commonSections(identityService), rating, database }, [
  ({ config: c, report }) => {
    checkDatabase("rating", c.rating, report);
    checkTrust(trustValues(c, identityService), report);
    checkServed("rating", c.rating, c.server.allow_insecure_bind, report);
  },
]);

export type RatingConfig = ConfigOf<typeof ratingConfig.sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadRatingConfig(opts: Omit<LoadOptions, "catalog"> = {}): RatingConfig {
  return loadConfig(ratingConfig, { ...opts, catalog: CONFIG_CATALOG });
}
