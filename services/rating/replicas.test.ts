/**
 * Two real rating processes sharing one database (a SQLite file, or a
 * PostgreSQL database): a change made through one replica is priced with by
 * the other within a second, module states included, and pricing does not
 * reload anything while nothing changes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { CreateMappingRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { BACKENDS, type RatingClients, startRating } from "../../test/support/rating.js";
import type { ServiceProcess } from "../../test/support/service-process.js";

const POINT: DataPoint = { type: "compute", unit: "", qty: "2", price: "0", groupby: { flavor: "m1" }, metadata: {} };

async function price(c: RatingClients): Promise<string> {
  return (await c.rating.quote({ points: [POINT], scopeId: "p1", at: undefined })).total;
}

/** Milliseconds until the replica prices `want` (polling every 10 ms), failing after 5 s. */
async function until(c: RatingClients, want: string): Promise<number> {
  const t0 = performance.now();
  let last = "";
  while (performance.now() - t0 < 5000) {
    last = await price(c);
    if (last === want) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`still ${last}, not ${want}, after 5 s`);
}

function reloads(p: ServiceProcess): number {
  return p.logs().filter((l) => l.msg === "price lists reloaded").length;
}

for (const backend of BACKENDS) {
  describe(`two rating replicas on one ${backend} database`, () => {
    it("see each other's changes within a second, and reload only when something changed", async (t) => {
      const [a, b] = await startRating(t, backend, { replicas: 2 });
      assert.ok(a !== undefined && b !== undefined);
      const lags: number[] = [];

      // Module state changed on A.
      await a.clients.rating.updateModule({ name: "hashmap", enabled: true, priority: 5 });
      await new Promise((r) => setTimeout(r, 0));
      const t0 = performance.now();
      for (;;) {
        const m = (await b.clients.rating.listModules({})).modules.find((x) => x.name === "hashmap");
        if (m?.enabled === true && m.priority === 5) break;
        assert.ok(performance.now() - t0 < 1000, "B sees the module enabled within a second");
        await new Promise((r) => setTimeout(r, 10));
      }
      lags.push(performance.now() - t0);

      // A price list built on A, priced on B.
      const svc = (await a.clients.hashmap.createService({ name: "compute" })).service?.serviceId ?? "";
      const past = new Date(Date.now() - 3600_000);
      const m = await a.clients.hashmap.createMapping(
        CreateMappingRequest.fromPartial({ serviceId: svc, cost: "1.5", start: past, force: true }),
      );
      assert.equal(await price(a.clients), "3.0", "A prices with its own change at once");
      lags.push(await until(b.clients, "3.0"));

      // A change on B, priced on A.
      const field = (await b.clients.hashmap.createField({ serviceId: svc, name: "flavor" })).field?.fieldId ?? "";
      await b.clients.hashmap.createMapping(
        CreateMappingRequest.fromPartial({ fieldId: field, value: "m1", type: 2, cost: "2", start: past, force: true }),
      );
      assert.equal(await price(b.clients), "6.0");
      lags.push(await until(a.clients, "6.0"));

      // Deleting on A, disabling on B.
      await a.clients.hashmap.deleteMapping({ mappingId: m.mapping?.mappingId ?? "" });
      lags.push(await until(b.clients, "0"));
      await b.clients.rating.updateModule({ name: "hashmap", enabled: false, priority: undefined });
      await a.clients.hashmap.createMapping(CreateMappingRequest.fromPartial({ serviceId: svc, cost: "7", start: past, force: true }));
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await price(a.clients), "0", "A saw the module disabled on B");

      for (const lag of lags) assert.ok(lag < 1000, `lags ${lags.map((x) => Math.round(x)).join(", ")} ms`);

      // Nothing changes: pricing many frames reloads nothing.
      const before = [reloads(a.proc), reloads(b.proc)];
      for (let i = 0; i < 20; i++) {
        await b.clients.rating.rate({
          frames: [{ scopeId: `p${i}`, begin: new Date(Date.UTC(2026, 0, 1, i)), end: undefined, points: [POINT, POINT] }],
        });
      }
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual([reloads(a.proc), reloads(b.proc)], before);
      assert.ok(before[1] !== undefined && before[1] >= 4, `B reloaded on changes (${before[1]} times)`);
    });

    it("serialize concurrent writers: of equal requests sent to both at once, exactly one is stored", async (t) => {
      const [a, b] = await startRating(t, backend, { replicas: 2 });
      assert.ok(a !== undefined && b !== undefined);
      const svc = (await a.clients.hashmap.createService({ name: "volume" })).service?.serviceId ?? "";
      const past = new Date(Date.now() - 3600_000);
      const attempts = Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).clients.hashmap.createMapping(
          CreateMappingRequest.fromPartial({ serviceId: svc, cost: String(i + 1), start: past, force: true }),
          { retry: false },
        ),
      );
      const settled = await Promise.allSettled(attempts);
      const ok = settled.filter((x) => x.status === "fulfilled");
      const refused = settled.filter((x) => x.status === "rejected").map((x) => String((x as PromiseRejectedResult).reason));
      assert.equal(ok.length, 1, refused.join("\n"));
      for (const r of refused) assert.match(r, /ALREADY_EXISTS/);
      const names = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).clients.hashmap.createGroup({ name: "discounts" }, { retry: false })),
      );
      assert.equal(names.filter((x) => x.status === "fulfilled").length, 1);
    });
  });
}
