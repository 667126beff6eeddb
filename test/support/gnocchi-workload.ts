/**
 * The catch-up workload of the benchmarks, on a real Gnocchi: a number of
 * projects of 10 resources each over the resource types of CloudKitty's
 * default metrics.yml (services/collector/bench/cloudkitty-metrics.yml),
 * with a measure every 5 minutes for a number of hours from `day`.
 */
import { type GnocchiServer, type Measure, pushMeasures, setupCloudKittyTypes, waitProcessed } from "./gnocchi.js";

const HOUR = 3_600_000;

/** 10 resources per scope over the default metrics.yml's resource types. */
const LAYOUT: Array<{ type: string; count: number; metrics: string[]; attrs: (i: number) => Record<string, unknown> }> = [
  { type: "instance", count: 3, metrics: ["cpu"], attrs: (i) => ({ flavor_name: `m1.${i}`, flavor_id: `f${i}`, vcpus: 1 + i }) },
  { type: "volume", count: 2, metrics: ["volume.size"], attrs: () => ({ volume_type: "ssd" }) },
  { type: "image", count: 1, metrics: ["image.size"], attrs: () => ({ container_format: "bare", disk_format: "qcow2" }) },
  {
    type: "instance_network_interface",
    count: 2,
    metrics: ["network.outgoing.bytes.rate", "network.incoming.bytes.rate"],
    attrs: (i) => ({ instance_id: `vm-${i}` }),
  },
  { type: "network", count: 1, metrics: ["ip.floating"], attrs: () => ({ state: "up" }) },
  { type: "ceph_account", count: 1, metrics: ["radosgw.objects.size"], attrs: () => ({}) },
];

export interface WorkloadOptions {
  scopes: number;
  /** Hours of measures from `day`. */
  periods: number;
  /** Epoch ms of the first period. */
  day: number;
  prefix?: string;
  /**
   * Values exact in binary (multiples of 1/8) and constant within each
   * hour, so that every aggregate of an hour is the same exact number
   * whether read as a float (CloudKitty) or as its JSON text (ratemesh).
   */
  binaryExact?: boolean;
}

/** Creates the resources and pushes the measures; returns the project ids once Gnocchi has processed them. */
export async function populateWorkload(g: GnocchiServer, opts: WorkloadOptions): Promise<string[]> {
  await setupCloudKittyTypes(g);
  const scopes = Array.from({ length: opts.scopes }, (_, i) => `${opts.prefix ?? "bench-project"}-${String(i).padStart(2, "0")}`);
  let seed = 1;
  const rnd = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  for (const project of scopes) {
    const batch: Record<string, Record<string, Measure[]>> = {};
    for (const { type, count, metrics, attrs } of LAYOUT) {
      for (let i = 0; i < count; i++) {
        const id = crypto.randomUUID();
        await g.api("POST", `/v1/resource/${type}`, {
          id,
          project_id: project,
          user_id: "bench-user",
          started_at: new Date(opts.day - 24 * HOUR).toISOString(),
          ...attrs(i),
          metrics: Object.fromEntries(metrics.map((m) => [m, { archive_policy_name: "ratemesh" }])),
        });
        batch[id] = Object.fromEntries(
          metrics.map((m) => {
            const hourly = opts.binaryExact ? Array.from({ length: opts.periods }, () => Math.round(rnd() * 8e4) / 8) : [];
            return [
              m,
              Array.from({ length: opts.periods * 12 }, (_, k) => ({
                timestamp: new Date(opts.day + k * 300_000).toISOString(),
                value: opts.binaryExact ? (hourly[Math.floor(k / 12)] as number) : Math.round(rnd() * 1e6) / 100,
              })),
            ];
          }),
        );
      }
    }
    await pushMeasures(g, batch);
  }
  await waitProcessed(g, 600_000);
  return scopes;
}
