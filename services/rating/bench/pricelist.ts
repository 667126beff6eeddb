/**
 * A realistic price list and usage for the benchmarks: 10 services, 50
 * field mappings, service and field thresholds, 3 groups, 20 projects with
 * rules of their own; points shaped like a Gnocchi collection (instances
 * with flavors and images, volumes by type and size, traffic, storage).
 */
import type { DataPoint } from "../../../libs/gen/ratemesh/v1/common.js";
import { seededRandom } from "../../../test/support/random.js";
import type { RatingPoint } from "../domain.js";
import type { HashmapData, MapType } from "../modules/hashmap/model.js";
import { PriceListBuilder } from "../modules/hashmap/price-list-builder.js";

export const FLAVORS = [
  "m1.nano",
  "m1.tiny",
  "m1.small",
  "m1.medium",
  "m1.large",
  "m1.xlarge",
  "c1.large",
  "c1.xlarge",
  "r1.large",
  "r1.xlarge",
  "g1.large",
  "g1.xlarge",
];
const OS = ["ubuntu", "debian", "centos", "windows", "rhel"];
const VOLUME_TYPES = ["SSD_gold", "SSD_silver", "HDD_bronze", "HDD_archive"];
const REGIONS = ["eu-west", "eu-central", "us-east"];
const SERVICES = [
  "instance",
  "volume.size",
  "image.size",
  "snapshot.size",
  "ip.floating",
  "network.incoming.bytes",
  "network.outgoing.bytes",
  "radosgw.objects.size",
  "lb.listener",
  "dns.zone",
];
export const PROJECTS = Array.from({ length: 50 }, (_, i) => `project-${String(i).padStart(2, "0")}`);
/** The first 20 projects have rules of their own. */
const OVERRIDDEN = PROJECTS.slice(0, 20);

type Parent = { serviceId?: string; fieldId?: string };

export function benchPriceList(): HashmapData {
  const b = new PriceListBuilder();
  for (const [i, name] of SERVICES.entries()) b.service(`s${i}`, name);
  for (const [i, name] of ["instance_uptime", "licenses", "volume_discount"].entries()) b.group(`g${i}`, name);
  const field = (serviceId: string, name: string) => b.field(serviceId, name).fieldId;
  const start = Date.UTC(2025, 0, 1);
  const mapping = (
    parent: Parent,
    value: string | null,
    type: MapType,
    cost: string,
    groupId: string | null,
    tenantId: string | null = null,
  ) => b.mapping({ ...parent, value, type, cost, groupId, tenantId, start });
  const threshold = (parent: Parent, level: string, type: MapType, cost: string, groupId: string | null, tenantId: string | null = null) =>
    b.threshold({ ...parent, level, type, cost, groupId, tenantId });

  // instance: a price per flavor (uptime group), a license per OS, a regional rate.
  const flavor = field("s0", "flavor");
  const os = field("s0", "os_distro");
  const region = field("s0", "region");
  const memory = field("s0", "memory_mb");
  for (const [i, f] of FLAVORS.entries()) mapping({ fieldId: flavor }, f, "flat", (0.01 + i * 0.0125).toFixed(4), "g0");
  for (const [i, o] of OS.entries()) mapping({ fieldId: os }, o, "flat", o === "windows" ? "0.045" : (0.001 * i).toFixed(3), "g1");
  for (const [i, r] of REGIONS.entries()) mapping({ fieldId: region }, r, "rate", ["1", "1.05", "1.12"][i] as string, "g0");
  threshold({ fieldId: memory }, "16384", "flat", "0.004", "g0");
  threshold({ fieldId: memory }, "65536", "flat", "0.009", "g0");
  mapping({ serviceId: "s0" }, null, "flat", "0.002", null);
  // volumes: per type, with a volume discount ladder.
  const vtype = field("s1", "volume_type");
  const vregion = field("s1", "region");
  for (const [i, v] of VOLUME_TYPES.entries())
    mapping({ fieldId: vtype }, v, "flat", ["0.00030", "0.00020", "0.00010", "0.00004"][i] as string, "g2");
  for (const [i, r] of REGIONS.entries()) mapping({ fieldId: vregion }, r, "rate", ["1", "1.02", "1.1"][i] as string, "g2");
  threshold({ serviceId: "s1" }, "500", "rate", "0.97", "g2");
  threshold({ serviceId: "s1" }, "2000", "rate", "0.93", "g2");
  // images, snapshots, storage: per GiB, cheaper tiers per region.
  for (const [si, cost] of [
    ["s2", "0.00008"],
    ["s3", "0.00006"],
    ["s7", "0.00002"],
  ] as const) {
    mapping({ serviceId: si }, null, "flat", cost, null);
    const r = field(si, "region");
    for (const [i, reg] of REGIONS.entries()) mapping({ fieldId: r }, reg, "rate", ["1", "0.95", "1.2"][i] as string, null);
  }
  threshold({ serviceId: "s7" }, "1000", "flat", "0.5", null);
  // floating IPs, traffic, load balancers, DNS.
  mapping({ serviceId: "s4" }, null, "flat", "0.004", null);
  const ipType = field("s4", "ip_type");
  mapping({ fieldId: ipType }, "ipv4", "rate", "1.5", null);
  mapping({ fieldId: ipType }, "ipv6", "rate", "0.5", null);
  for (const s of ["s5", "s6"]) {
    mapping({ serviceId: s }, null, "flat", s === "s5" ? "0" : "0.00000000009", null);
    threshold({ serviceId: s }, "500000000000", "rate", "0.8", null);
  }
  mapping({ serviceId: "s8" }, null, "flat", "0.025", null);
  const lbFlavor = field("s8", "lb_flavor");
  for (const [i, f] of ["small", "medium", "large", "xlarge"].entries())
    mapping({ fieldId: lbFlavor }, f, "flat", (0.03 + i * 0.02).toFixed(2), "g0");
  mapping({ serviceId: "s9" }, null, "flat", "0.0007", null);
  const zoneType = field("s9", "zone_type");
  for (const [i, z] of ["primary", "secondary", "reverse", "delegated"].entries())
    mapping({ fieldId: zoneType }, z, "rate", (1 + i * 0.25).toFixed(2), null);
  const diskFormat = field("s2", "disk_format");
  for (const [i, d] of ["qcow2", "raw", "iso", "vmdk"].entries())
    mapping({ fieldId: diskFormat }, d, "rate", ["1", "1.1", "0.9", "1.3"][i] as string, null);

  // Project rules: a discounted flavor, a cheaper volume type, a negotiated ladder.
  for (const [i, p] of OVERRIDDEN.entries()) {
    mapping({ fieldId: flavor }, FLAVORS[i % FLAVORS.length] as string, "flat", "0.02", "g0", p);
    if (i % 2 === 0) mapping({ fieldId: vtype }, "SSD_gold", "flat", "0.00025", "g2", p);
    if (i % 4 === 0) threshold({ serviceId: "s1" }, "500", "rate", "0.95", "g2", p);
  }
  return b.data;
}

const HEX = "0123456789abcdef";

function uuid(r: () => number): string {
  let s = "";
  for (let i = 0; i < 32; i++) {
    s += HEX[Math.floor(r() * 16)];
    if (i === 7 || i === 11 || i === 15 || i === 19) s += "-";
  }
  return s;
}

export interface BenchFrame {
  scopeId: string;
  begin: Date;
  end: Date;
  points: RatingPoint[];
}

/** Frames of `perFrame` points, one per (project, hour). */
export function benchFrames(total: number, perFrame: number, seed = 1): BenchFrame[] {
  const r = seededRandom(seed);
  const frames: BenchFrame[] = [];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const start = Date.UTC(2026, 2, 1);
  for (let f = 0; f * perFrame < total; f++) {
    const scopeId = PROJECTS[f % PROJECTS.length] as string;
    const begin = new Date(start + Math.floor(f / PROJECTS.length) * 3600_000);
    const region = pick(REGIONS);
    const points: RatingPoint[] = [];
    for (let i = 0; i < perFrame && f * perFrame + i < total; i++) {
      const kind = r();
      const groupby: Record<string, string> = { id: uuid(r), project_id: scopeId };
      let type: string;
      let qty: string;
      let metadata: Record<string, string>;
      if (kind < 0.45) {
        type = "instance";
        qty = "1";
        metadata = { flavor: pick(FLAVORS), os_distro: pick(OS), region, memory_mb: pick(["2048", "4096", "16384", "32768", "65536"]) };
      } else if (kind < 0.7) {
        type = "volume.size";
        qty = String(1 + Math.floor(r() * r() * 3000));
        metadata = { volume_type: pick(VOLUME_TYPES), region };
      } else if (kind < 0.78) {
        type = pick(["image.size", "snapshot.size", "radosgw.objects.size"]);
        qty = (r() * 4000).toFixed(6);
        metadata = type === "image.size" ? { region, disk_format: pick(["qcow2", "raw", "iso", "vmdk"]) } : { region };
      } else if (kind < 0.84) {
        type = "ip.floating";
        qty = "1";
        metadata = { ip_type: pick(["ipv4", "ipv4", "ipv6"]) };
      } else if (kind < 0.96) {
        type = pick(["network.incoming.bytes", "network.outgoing.bytes"]);
        qty = String(Math.floor(r() * 2e12));
        metadata = {};
      } else if (kind < 0.98) {
        type = "lb.listener";
        qty = "1";
        metadata = { lb_flavor: pick(["small", "medium", "large", "xlarge"]) };
      } else {
        type = pick(["dns.zone", "unrated.metric"]);
        qty = "1";
        metadata = { zone_type: pick(["primary", "secondary", "reverse", "delegated"]) };
      }
      points.push({ type, unit: "", qty, price: "0", groupby, metadata });
    }
    frames.push({ scopeId, begin, end: new Date(begin.getTime() + 3600_000), points });
  }
  return frames;
}

export function toDataPoints(points: RatingPoint[]): DataPoint[] {
  return points.map((p) => ({ type: p.type, unit: p.unit, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata }));
}
