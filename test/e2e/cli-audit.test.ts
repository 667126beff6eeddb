/**
 * `ratemesh audit` and `ratemesh scopes reseed-fencing` against real
 * storage and rating processes: changes made through the CLI show in each
 * service's own trail, newest first, filtered by method; a re-seed moves a
 * scope's fencing epoch, keeps its state, and is audited with its reason.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cliOn, runCli } from "../support/cli.js";
import { startMesh } from "../support/mesh.js";

describe("ratemesh audit and scopes reseed-fencing", () => {
  it("show who changed what in storage and rating, and re-seed a fencing record", async (t) => {
    const mesh = await startMesh(t, { withCollector: false });
    const { env, ok: cli } = cliOn({ storage: mesh.storage.address, rating: mesh.rating.address });

    await cli("scopes", "create", "acme", "--start", "2026-11-01");
    await cli("hashmap", "services", "create", "compute");
    const reseeded = JSON.parse(
      await cli("scopes", "reseed-fencing", "acme", "--epoch", "3", "--reason", "etcd restored from a backup", "--format", "json"),
    ) as Array<Record<string, string>>;
    assert.equal(reseeded[0]?.scopeId, "acme");
    const shown = JSON.parse(await cli("scopes", "show", "acme", "--format", "json")) as Record<string, string>;
    assert.equal(shown.fencingEpoch, "3", "the new record's epoch");
    assert.equal(shown.state, "2026-11-01T00:00:00.000Z", "the state is untouched");

    const storage = JSON.parse(await cli("audit", "--format", "json")) as Array<Record<string, string>>;
    assert.deepEqual(
      storage.map((e) => [e.method, e.actor]),
      [
        ["ScopeService/ReseedFencing", "anonymous (noauth)"],
        ["ScopeService/CreateScope", "anonymous (noauth)"],
      ],
      "newest first",
    );
    assert.match(storage[0]?.target ?? "", /acme/);
    const rating = JSON.parse(
      await cli("audit", "--service", "rating", "--method", "HashmapService/CreateService", "--format", "json"),
    ) as Array<Record<string, string>>;
    assert.equal(rating.length, 1);
    assert.equal(rating[0]?.method, "HashmapService/CreateService");
    const csv = (await cli("audit", "--format", "csv")).trimEnd().split("\n");
    assert.equal(csv[0], "seq,at,actor,project,method,target");
    assert.equal(csv.length, 3);

    const noReason = await runCli(["scopes", "reseed-fencing", "acme"], { env });
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    const both = await runCli(["scopes", "reseed-fencing", "acme", "--all", "--reason", "x"], { env });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give scope ids or --all, not both/);
  });
});
