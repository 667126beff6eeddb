/**
 * The hashmap README's worked examples once more, end to end: the rules of
 * each example are created through HashmapService on a real rating process,
 * and every point is priced through Quote (as its project, at its instant);
 * the prices must be the README's, digit for digit.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { ListMappingsRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { rejectsWith, startRating } from "../../test/support/rating.js";
import { readmeExamples } from "./modules/hashmap/examples.js";
import { uploadPriceList } from "./modules/hashmap/price-list-upload.js";

describe("hashmap README examples over gRPC", () => {
  it("price every example's points as the README says", async (t) => {
    const [r] = await startRating(t, "sqlite");
    assert.ok(r !== undefined);
    const { hashmap: h, rating } = r.clients;
    await rating.updateModule({ name: "hashmap", enabled: true, priority: undefined });
    let priced = 0;
    for (const ex of readmeExamples()) {
      // A clean price list for each example.
      for (const s of (await h.listServices({ name: "", pageSize: 1000, pageToken: "" })).services)
        await h.deleteService({ serviceId: s.serviceId });
      for (const g of (await h.listGroups({ pageSize: 1000, pageToken: "" })).groups)
        await h.deleteGroup({ groupId: g.groupId, recursive: true });
      assert.equal((await h.listMappings(ListMappingsRequest.fromPartial({}))).mappings.length, 0);

      await uploadPriceList(h, ex.data);
      for (const p of ex.points) {
        const call = rating.quote({ points: [p.point], scopeId: p.scope, at: p.at });
        if (p.price === "error") {
          await rejectsWith(call, status.INVALID_ARGUMENT, /^points\[0\]\.groupby\.memory: /);
          continue;
        }
        const res = await call;
        assert.equal(res.points[0]?.price, p.price, `${ex.title}, point ${p.label}`);
        assert.equal(res.total, p.price);
        priced++;
      }
    }
    assert.equal(priced, 52);
  });
});
