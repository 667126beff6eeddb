/**
 * The configuration the collector reads: CloudKitty's [collect], [fetcher],
 * [orchestrator] and the Gnocchi and Prometheus sections (config/), its own
 * address, and the addresses of storage and rating.
 */
import { commonSections } from "../../libs/config/common.js";
import { type Check, type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { checkServed, checkTrust, trustValues } from "../../libs/config/trust.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";
import * as cloudkitty from "./config/cloudkitty.js";
import * as collect from "./config/collect.js";
import * as gnocchi from "./config/gnocchi.js";
import * as keystone from "./config/keystone.js";
import * as orchestrator from "./config/orchestrator.js";
import * as prometheus from "./config/prometheus.js";

/** Callers' tokens come from Keystone, validated per [keystone_authtoken] as OpenStack's auth token middleware does. */
export const identityService = { strategy: "keystone", section: "keystone_authtoken", name: "Keystone" } as const;

const sections = {
  ...commonSections(identityService),
  ...collect.sections,
  ...orchestrator.sections,
  ...gnocchi.sections,
  ...keystone.sections,
  ...prometheus.sections,
  ...cloudkitty.sections,
};

const checks: Array<Check<typeof sections>> = [
  collect.checks,
  orchestrator.checks,
  gnocchi.checks,
  keystone.checks,
  prometheus.checks,
  ({ config: c, report }) => {
    checkTrust(trustValues(c, identityService), report);
    checkServed("collector", c.collector, c.server.allow_insecure_bind, report);
  },
];

export const collectorConfig = defineServiceConfig("collector", sections, checks);

export type CollectorConfig = ConfigOf<typeof sections>;

/** The configuration from a file and the environment (for tools and tests; the service itself goes through runService). */
export function loadCollectorConfig(opts: Omit<LoadOptions, "catalog"> = {}): CollectorConfig {
  return loadConfig(collectorConfig, { ...opts, catalog: CONFIG_CATALOG });
}
