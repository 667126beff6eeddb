/**
 * One point that rating cannot price, among the frames of 21 scopes rated
 * together in batched catch-up, with real storage, rating and collector
 * processes: only its scope fails, with the point named on the scope; the
 * 20 others are rated.
 */
import assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { HashmapServiceService, MappingType, RatingServiceService } from "../../libs/gen/ratemesh/v1/rating.js";
import { Decimal } from "../../libs/money/decimal.js";
import { METRICS_YML, PERIOD, startCluster, workloadEnd, writeWorkload } from "../support/cluster.js";
import { connect, eventually, tempDir } from "../support/mesh.js";

const BEGIN = new Date("2026-09-01T00:00:00Z");
const HEALTHY = Array.from({ length: 20 }, (_, i) => `healthy-${String(i).padStart(2, "0")}`);
const POISON = "poisoned";

describe("a point rating cannot price", () => {
  it("in a batch of 21 scopes stops only its own scope, recorded with the point named; the other 20 are rated", async (t) => {
    const workload = { scopes: [...HEALTHY, POISON], begin: BEGIN, periods: 4 };
    const cluster = await startCluster(t, {
      workload,
      collectors: 0,
      ttlSeconds: 2,
      // Every scope in one unit, every period in one batch: one Rate call for all of them.
      sections: { collect: { batch_periods: 4, batch_scopes: 21 }, orchestrator: { max_workers: 32 } },
    });
    // The same usage, plus one memory point whose size is not a number, in the poisoned scope's second period.
    const dir = tempDir(t);
    const { file, expected } = writeWorkload(dir, workload);
    const poisonBegin = new Date(BEGIN.getTime() + PERIOD * 1000);
    appendFileSync(
      file,
      `${JSON.stringify({ metric: "memory", scope_id: POISON, begin: poisonBegin.toISOString(), qty: 1, groupby: { id: "vm-p" }, metadata: { size: "lots" } })}\n`,
    );
    const metrics = join(dir, "metrics.yml");
    writeFileSync(metrics, `${METRICS_YML}  memory:\n    unit: MiB\n    groupby: [id]\n    metadata: [size]\n`);

    // A hashmap field with thresholds on the memory size: a size that is not a number cannot be priced.
    const ratingConn = connect(t, cluster.rating.address);
    const hashmap = ratingConn.client(HashmapServiceService);
    const { service } = await hashmap.createService({ name: "memory" });
    const { field } = await hashmap.createField({ serviceId: service?.serviceId ?? "", name: "size" });
    await hashmap.createThreshold({
      serviceId: "",
      fieldId: field?.fieldId ?? "",
      level: "1024",
      type: MappingType.MAPPING_TYPE_FLAT,
      cost: "0.5",
      groupId: "",
      tenantId: "",
    });
    await ratingConn.client(RatingServiceService).updateModule({ name: "hashmap", enabled: true, priority: 1 });

    const collector = await cluster.addCollector({ RATEMESH_COLLECT__METRICS_CONF: metrics, RATEMESH_COLLECTOR_FILE__PATH: file });
    const end = workloadEnd(workload);
    await eventually(
      async () => {
        const { scopes } = await cluster.scopesClient.listScopes({
          scopeIds: HEALTHY,
          scopeKey: "",
          fetcher: "",
          collector: "",
          pageSize: 100,
          pageToken: "",
        });
        return scopes.filter((s) => s.state?.getTime() === end.getTime()).length === HEALTHY.length;
      },
      60_000,
      "the 20 healthy scopes rated",
    );
    const { rows, columns } = await cluster.storageClient.summary({
      begin: BEGIN,
      end,
      groupBy: ["scope_id"],
      filters: [],
      orderBy: [],
      pageSize: 100,
      pageToken: "",
    });
    for (const scope of HEALTHY) {
      const row = rows.find((r) => r.values[columns.indexOf("scope_id")] === scope);
      assert.ok(Decimal.parse(row?.values[columns.indexOf("qty")] ?? "0").eq(expected.get(scope) as Decimal), scope);
    }

    // The poisoned scope: nothing rated, the error on the scope names the point and its period.
    const poisoned = await eventually(
      async () => {
        const { scope } = await cluster.scopesClient.getScope({ scopeId: POISON });
        return scope?.lastError !== "" ? scope : undefined;
      },
      10_000,
      "the error recorded on the poisoned scope",
    );
    assert.match(poisoned.lastError, /INVALID_ARGUMENT: frames\[\d+\]\.points\[\d+\]\.metadata\.size: "lots" is not a number/);
    assert.match(poisoned.lastError, new RegExp(`\\(period ${poisonBegin.toISOString()}\\)$`));
    assert.notEqual(poisoned.state?.getTime(), end.getTime());
    const status = await connect(t, collector.address).client(CollectorServiceService).getStatus({});
    assert.match(status.scopes.find((s) => s.scopeId === POISON)?.lastError ?? "", /metadata\.size: "lots" is not a number/);
    const total = await cluster.storageClient.total({ begin: BEGIN, end, filters: [{ key: "scope_id", values: [POISON] }] });
    assert.equal(total.points, "0");
  });
});
