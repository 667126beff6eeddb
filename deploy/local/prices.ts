/**
 * The demo's price list, created through HashmapService before the
 * collector starts rating: what a billing team would set up in CloudKitty's
 * hashmap, with the same services, fields, mappings and thresholds.
 */
import {
  CreateMappingRequest,
  CreateThresholdRequest,
  type HashmapServiceService,
  MappingType,
  type RatingServiceService,
} from "../../libs/gen/ratemesh/v1/rating.js";
import type { Client } from "../../libs/grpc/client.js";

/** Valid for every period of the demo (a start in the past needs force). */
const START = new Date("2026-01-01T00:00:00Z");

export const PRICE_LIST = `  instance          per instance-hour by flavor: m1.tiny 0.01, m1.small 0.02, m1.medium 0.04, m1.large 0.08
  volume.size       0.0002 per GiB-hour, ssd volumes x 1.5, 5% off from 100 GiB
  image.size        0.00001 per MiB-hour
  network.outgoing  0.00005 per MB`;

export async function createDemoPriceList(
  hashmap: Client<typeof HashmapServiceService>,
  rating: Client<typeof RatingServiceService>,
): Promise<void> {
  const service = async (name: string) => (await hashmap.createService({ name })).service?.serviceId ?? "";
  const field = async (serviceId: string, name: string) => (await hashmap.createField({ serviceId, name })).field?.fieldId ?? "";
  const mapping = (m: Partial<CreateMappingRequest>) =>
    hashmap.createMapping(CreateMappingRequest.fromPartial({ type: MappingType.MAPPING_TYPE_FLAT, start: START, force: true, ...m }));

  const instance = await service("instance");
  const flavor = await field(instance, "flavor_name");
  for (const [value, cost] of [
    ["m1.tiny", "0.01"],
    ["m1.small", "0.02"],
    ["m1.medium", "0.04"],
    ["m1.large", "0.08"],
  ] as const) {
    await mapping({ fieldId: flavor, value, cost });
  }

  const volume = await service("volume.size");
  await mapping({ serviceId: volume, cost: "0.0002" });
  await mapping({ fieldId: await field(volume, "volume_type"), value: "ssd", type: MappingType.MAPPING_TYPE_RATE, cost: "1.5" });
  await hashmap.createThreshold(
    CreateThresholdRequest.fromPartial({ serviceId: volume, level: "100", type: MappingType.MAPPING_TYPE_RATE, cost: "0.95" }),
  );

  await mapping({ serviceId: await service("image.size"), cost: "0.00001" });
  await mapping({ serviceId: await service("network.outgoing"), cost: "0.00005" });

  await rating.updateModule({ name: "hashmap", enabled: true, priority: 10 });
}
