/**
 * Creates an in-memory price list (HashmapData) on a running rating service
 * through HashmapService, rule after rule in creation order, as an operator
 * would: for the benchmarks and the end-to-end run of the README's examples.
 * The service assigns its own ids; the rows' ids only tie them together.
 */
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  type HashmapServiceService,
  MappingType,
} from "../../../../libs/gen/ratemesh/v1/rating.js";
import type { Client } from "../../../../libs/grpc/client.js";
import type { HashmapData, MappingRow, MapType, ThresholdRow } from "./model.js";

export async function uploadPriceList(h: Client<typeof HashmapServiceService>, data: HashmapData): Promise<void> {
  const ids = new Map<string, string>();
  const id = (x: string | null) => (x === null ? "" : (ids.get(x) ?? ""));
  const type = (t: MapType) => (t === "rate" ? MappingType.MAPPING_TYPE_RATE : MappingType.MAPPING_TYPE_FLAT);
  for (const s of data.services) ids.set(s.serviceId, (await h.createService({ name: s.name })).service?.serviceId ?? "");
  for (const f of data.fields) ids.set(f.fieldId, (await h.createField({ serviceId: id(f.serviceId), name: f.name })).field?.fieldId ?? "");
  for (const g of data.groups) ids.set(g.groupId, (await h.createGroup({ name: g.name })).group?.groupId ?? "");
  const rules: Array<MappingRow | ThresholdRow> = [...data.mappings, ...data.thresholds].sort((a, b) => a.seq - b.seq);
  for (const r of rules) {
    const common = {
      serviceId: id(r.serviceId),
      fieldId: id(r.fieldId),
      type: type(r.type),
      cost: r.cost,
      groupId: id(r.groupId),
      tenantId: r.tenantId ?? "",
    };
    if ("level" in r) {
      await h.createThreshold(CreateThresholdRequest.fromPartial({ ...common, level: r.level }));
    } else {
      await h.createMapping(
        CreateMappingRequest.fromPartial({
          ...common,
          value: r.value ?? "",
          start: new Date(r.start),
          force: true,
          ...(r.end === null ? {} : { end: new Date(r.end) }),
        }),
      );
    }
  }
}
