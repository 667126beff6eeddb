/**
 * Who may call the collector's methods: Collect reads any project's usage
 * from the source and GetStatus shows every scope's progress, so both are
 * the admin's; the metrics configuration is open to any authenticated
 * caller, as CloudKitty's /v1/info. [auth] policy_file may replace any rule.
 */
import type { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import type { PolicyTable } from "../../libs/grpc/guard.js";

export const collectorPolicy: PolicyTable<typeof CollectorServiceService> = {
  collect: { rule: "role:admin" },
  listMetrics: { rule: "@" },
  getStatus: { rule: "role:admin" },
};
