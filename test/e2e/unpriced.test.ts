/**
 * A catch-up with no price in force is loud: a mesh rates a usage file
 * while one type has no rule and another's mapping starts in the middle of
 * the window. The points stored with price 0 are counted on the scope
 * (GetScope), in the collector's GetStatus, in a warning line and the
 * rating metric, and `ratemesh scopes list` says so; rating the periods
 * again once the price list covers them clears the count.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CollectorServiceService } from "../../libs/gen/ratemesh/v1/collector.js";
import { CreateMappingRequest, HashmapServiceService, MappingType } from "../../libs/gen/ratemesh/v1/rating.js";
import { meshEnv, runCli } from "../support/cli.js";
import { connect, eventually, fileCollectSections, startMesh, startService, tempDir, waitRatedUpTo } from "../support/mesh.js";

const BEGIN = new Date("2026-03-01T00:00:00Z");
const HOUR = 3600_000;
const PERIODS = 6;
const END = new Date(BEGIN.getTime() + PERIODS * HOUR);
const SCOPE = "p-loud";

describe("unpriced points", () => {
  it("are counted on the scope, in GetStatus, the log, the metrics and the CLI, and cleared once the periods are rated with a price", async (t) => {
    const dir = tempDir(t);
    const metricsFile = join(dir, "metrics.yml");
    writeFileSync(
      metricsFile,
      "metrics:\n  cpu:\n    unit: instance\n    alt_name: instance\n    groupby: [id]\n  volume.size:\n    unit: GiB\n    groupby: [id]\n",
    );
    const usage = join(dir, "usage.jsonl");
    const lines: string[] = [];
    for (let h = 0; h < PERIODS; h++) {
      const begin = new Date(BEGIN.getTime() + h * HOUR).toISOString();
      lines.push(JSON.stringify({ metric: "cpu", scope_id: SCOPE, begin, qty: 1, groupby: { id: "vm" } }));
      lines.push(JSON.stringify({ metric: "volume.size", scope_id: SCOPE, begin, qty: 10, groupby: { id: "vol" } }));
    }
    writeFileSync(usage, `${lines.join("\n")}\n`);
    const mesh = await startMesh(t, {
      withCollector: false,
      sections: {
        ...fileCollectSections({ metricsFile, usageFile: usage, scopes: [SCOPE], begin: BEGIN, end: END }),
        rating: { url: join(dir, "rating.sqlite"), listen: "127.0.0.1:0", metrics_listen: "127.0.0.1:0" },
      },
    });
    // Instances priced from the third period on; volumes by no rule at all.
    const hm = connect(t, mesh.rating.address).client(HashmapServiceService);
    const instance = (await hm.createService({ name: "instance" })).service?.serviceId ?? "";
    const volume = (await hm.createService({ name: "volume.size" })).service?.serviceId ?? "";
    const flat = (serviceId: string, cost: string, start: Date, tenantId = "") =>
      hm.createMapping(
        CreateMappingRequest.fromPartial({ serviceId, cost, type: MappingType.MAPPING_TYPE_FLAT, start, tenantId, force: true }),
      );
    await flat(instance, "0.5", new Date(BEGIN.getTime() + 2 * HOUR), SCOPE);
    await mesh.clients.rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });

    const collector = await startService(t, {
      service: "collector",
      configFile: mesh.configFile,
      env: { RATEMESH_STORAGE__ENDPOINT: mesh.storage.address, RATEMESH_RATING__ENDPOINT: mesh.rating.address },
    });
    await waitRatedUpTo(mesh, [SCOPE], END);

    // 2 instance points (periods 0 and 1) and 6 volume points: 8 points in 6 periods.
    const { scope } = await mesh.clients.scopes.getScope({ scopeId: SCOPE });
    assert.equal(scope?.unpriced, true);
    assert.equal(scope?.unpricedPoints, "8");
    assert.equal(scope?.unpricedPeriods, "6");
    assert.equal(scope?.lastUnpricedPeriod?.toISOString(), new Date(END.getTime() - HOUR).toISOString());
    const total = await mesh.clients.storage.total({ begin: BEGIN, end: END, filters: [] });
    assert.equal(total.price, "2", "four instance-hours at 0.5; volumes stored at 0");

    const status = await connect(t, collector.address).client(CollectorServiceService).getStatus({});
    const mine = status.scopes.find((s) => s.scopeId === SCOPE);
    assert.deepEqual([mine?.unpriced, mine?.unpricedPoints], [true, "8"]);

    const warnings = collector.logs().filter((l) => l.msg === "points rated with no price rule in force: stored with price 0");
    assert.ok(warnings.length >= 1 && warnings.length <= 2, `one line, then at most one a minute: ${warnings.length}`);
    assert.equal(warnings[0]?.scope_id, SCOPE);
    assert.deepEqual(warnings[0]?.types, ["instance", "volume.size"]);
    assert.match(String(warnings[0]?.reason), /no rule is in force for their type/);
    const metrics = await (await fetch(`http://${mesh.rating.metricsAddress}/metrics`)).text();
    assert.match(metrics, /^ratemesh_rating_points_unpriced_total\{reason="no_rule_in_force"\} 8$/m);

    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address, collector: collector.address });
    const listed = await runCli(["scopes", "list"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${SCOPE} .* 8 in 6 periods, last 2026-03-01 05:00`));
    assert.match(listed.stderr, /warning: 1 scopes have points rated with no price rule in force/);
    const st = await runCli(["status"], { env });
    assert.match(st.stdout, /warning: 1 scopes have points rated with no price rule in force/);

    // The price list fixed (volumes, and instances before the project's own price, from the beginning), the periods rated again.
    await flat(volume, "0.001", new Date(0));
    await flat(instance, "0.25", new Date(0));
    await mesh.clients.reprocess.createTask({ scopeIds: [SCOPE], allScopes: false, begin: BEGIN, end: END, reason: "price list fixed" });
    await eventually(
      async () => (await mesh.clients.scopes.getScope({ scopeId: SCOPE })).scope?.unpricedPoints === "0",
      30_000,
      "the count cleared",
    );
    const again = (await mesh.clients.scopes.getScope({ scopeId: SCOPE })).scope;
    assert.equal(again?.unpriced, false);
    assert.equal(again?.lastUnpricedPeriod, undefined);
    const fixed = await mesh.clients.storage.total({ begin: BEGIN, end: END, filters: [] });
    assert.equal(fixed.price, "2.56", "2 × 0.25 + 4 × 0.5 for instances, 6 × 10 × 0.001 for volumes");
  });
});
