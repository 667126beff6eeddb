/** Creates the benchmark price list on a running rating service through HashmapService, and enables the hashmap. */
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  HashmapServiceService,
  MappingType,
  RatingServiceService,
} from "../../../libs/gen/ratemesh/v1/rating.js";
import { Connection } from "../../../libs/grpc/client.js";
import { benchPriceList } from "./pricelist.js";

export async function loadPriceList(address: string): Promise<void> {
  const conn = new Connection(address, {
    deadlineSeconds: 30,
    retries: 3,
    retryBackoffSeconds: 0.1,
    keepaliveSeconds: 30,
    maxMessageBytes: 64 << 20,
  });
  const h = conn.client(HashmapServiceService);
  const data = benchPriceList();
  const ids = new Map<string, string>();
  const id = (x: string | null) => (x === null ? "" : (ids.get(x) ?? ""));
  const type = (t: string) => (t === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT);
  for (const s of data.services) ids.set(s.serviceId, (await h.createService({ name: s.name })).service?.serviceId ?? "");
  for (const f of data.fields) ids.set(f.fieldId, (await h.createField({ serviceId: id(f.serviceId), name: f.name })).field?.fieldId ?? "");
  for (const g of data.groups) ids.set(g.groupId, (await h.createGroup({ name: g.name })).group?.groupId ?? "");
  for (const m of data.mappings) {
    await h.createMapping(
      CreateMappingRequest.fromPartial({
        serviceId: id(m.serviceId),
        fieldId: id(m.fieldId),
        value: m.value ?? "",
        type: type(m.type),
        cost: m.cost,
        groupId: id(m.groupId),
        tenantId: m.tenantId ?? "",
        start: new Date(m.start),
        force: true,
      }),
    );
  }
  for (const t of data.thresholds) {
    await h.createThreshold(
      CreateThresholdRequest.fromPartial({
        serviceId: id(t.serviceId),
        fieldId: id(t.fieldId),
        level: t.level,
        type: type(t.type),
        cost: t.cost,
        groupId: id(t.groupId),
        tenantId: t.tenantId ?? "",
      }),
    );
  }
  await conn.client(RatingServiceService).updateModule({ name: "hashmap", enabled: true, priority: undefined });
  conn.close();
}
