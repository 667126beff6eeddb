/**
 * Equal bills: the same usage in a real Gnocchi, priced by CloudKitty 17's
 * own code (Debian's python3-cloudkitty: its orchestrator Worker collects
 * and rates each period as cloudkitty-processor does, test/support/
 * cloudkitty_price.py) and by ratemesh, after `ratemesh migrate
 * from-cloudkitty` moved CloudKitty's price list over and derived the
 * ratemesh.conf the collector runs with from the very cloudkitty.conf the
 * Python side reads (Gnocchi, metrics.yml, period, coordination through
 * etcd3://). The totals, per project and type and over all, are the same.
 *
 * On usage exact in binary, to the last digit: both take the same
 * quantities and the hashmap is CloudKitty's arithmetic. On arbitrary
 * floats, CloudKitty's quantities carry the float's binary expansion
 * (Decimal(float)) where ratemesh reads Gnocchi's JSON text (the collector
 * README's deliberate difference), so the totals agree to the precision of
 * the float64 CloudKitty stores its prices in (15 significant digits).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Decimal } from "../../libs/money/decimal.js";
import { meshEnv, runCli } from "../support/cli.js";
import { type CloudKittyServer, startCloudKitty } from "../support/cloudkitty.js";
import { SYSTEM_PYTHON } from "../support/cloudkitty-cli.js";
import { EtcdServer } from "../support/etcd.js";
import { type GnocchiServer, startGnocchi } from "../support/gnocchi.js";
import { populateWorkload } from "../support/gnocchi-workload.js";
import { REPO_ROOT, startMesh, startService, waitRatedUpTo } from "../support/mesh.js";

const DAY = Date.parse("2026-09-01T00:00:00Z");
const PERIODS = 6;
const BEGIN = new Date(DAY);
const END = new Date(DAY + PERIODS * 3_600_000);

/**
 * CloudKitty's default metrics.yml (services/collector/bench/cloudkitty-metrics.yml),
 * but for the network factor: 3600/1000000 is not exact as the float CloudKitty
 * makes of it, 1/1024 is.
 */
const METRICS = `metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id, user_id, project_id]
    metadata: [flavor_name, flavor_id, vcpus]
    mutate: NUMBOOL
    extra_args: {aggregation_method: mean, resource_type: instance, force_granularity: 300}
  image.size:
    unit: MiB
    factor: 1/1048576
    groupby: [id, user_id, project_id]
    metadata: [container_format, disk_format]
    extra_args: {aggregation_method: mean, resource_type: image, force_granularity: 300}
  volume.size:
    unit: GiB
    groupby: [id, user_id, project_id]
    metadata: [volume_type]
    extra_args: {aggregation_method: mean, resource_type: volume, force_granularity: 300}
  network.outgoing.bytes.rate:
    unit: KiB
    groupby: [id, project_id, user_id]
    factor: 1/1024
    metadata: [instance_id]
    extra_args: {aggregation_method: mean, resource_type: instance_network_interface}
  network.incoming.bytes.rate:
    unit: KiB
    groupby: [id, project_id, user_id]
    factor: 1/1024
    metadata: [instance_id]
    extra_args: {aggregation_method: mean, resource_type: instance_network_interface}
  ip.floating:
    unit: ip
    groupby: [id, user_id, project_id]
    metadata: [state]
    mutate: NUMBOOL
    extra_args: {aggregation_method: mean, resource_type: network, force_granularity: 300}
  radosgw.objects.size:
    unit: GiB
    groupby: [id, user_id, project_id]
    factor: 1/1073741824
    extra_args: {aggregation_method: mean, resource_type: ceph_account, force_granularity: 300}
`;

let g: GnocchiServer;
let ck: CloudKittyServer;
let exact: string[];
let floats: string[];
let metricsFile: string;
let dir: string;

/** A price list as an operator enters it in CloudKitty: costs sent as JSON numbers, as its client does. */
async function cloudKittyPrices(): Promise<void> {
  const hm = "/v1/rating/module_config/hashmap";
  const post = (path: string, body: Record<string, unknown>) =>
    ck.api("POST", `${hm}/${path}`, body, [201]) as Promise<Record<string, string>>;
  const service = async (name: string) => (await post("services", { name })).service_id as string;
  const field = async (service_id: string, name: string) => (await post("fields", { service_id, name })).field_id as string;
  const uptime = (await post("groups", { name: "instance_uptime" })).group_id;
  const instance = await service("instance");
  const flavor = await field(instance, "flavor_name");
  for (const [value, cost] of [
    ["m1.0", 0.01],
    ["m1.1", 0.02],
    ["m1.2", 0.04],
  ] as const) {
    await post("mappings", { field_id: flavor, value, cost, type: "flat", group_id: uptime });
  }
  // A project's own price for one flavor, and a per-vCPU level.
  await post("mappings", { field_id: flavor, value: "m1.1", cost: 0.015, type: "flat", group_id: uptime, tenant_id: exact[0] });
  await post("thresholds", { field_id: await field(instance, "vcpus"), level: 2, cost: 0.005, type: "flat" });
  const volume = await service("volume.size");
  await post("mappings", { service_id: volume, cost: 0.0002, type: "flat" });
  await post("mappings", { field_id: await field(volume, "volume_type"), value: "ssd", cost: 1.5, type: "rate" });
  await post("thresholds", { service_id: volume, level: 1000, cost: 0.95, type: "rate" });
  await post("mappings", { service_id: await service("image.size"), cost: 0.00001, type: "flat" });
  await post("mappings", { service_id: await service("network.outgoing.bytes.rate"), cost: 0.00003, type: "flat" });
  await post("mappings", { service_id: await service("network.incoming.bytes.rate"), cost: 0.00001, type: "flat" });
  const ip = await service("ip.floating");
  await post("mappings", { service_id: ip, cost: 0.005, type: "flat" });
  await post("mappings", { field_id: await field(ip, "state"), value: "up", cost: 1.1, type: "rate" });
  await post("mappings", { service_id: await service("radosgw.objects.size"), cost: 0.0007, type: "flat" });
  await ck.api("PUT", "/v1/rating/modules/hashmap", { module_id: "hashmap", enabled: true, priority: 2 }, [302]);
}

before(async () => {
  g = await startGnocchi();
  exact = await populateWorkload(g, { scopes: 2, periods: PERIODS, day: DAY, prefix: "bill-exact", binaryExact: true });
  floats = await populateWorkload(g, { scopes: 2, periods: PERIODS, day: DAY, prefix: "bill-float" });
  dir = mkdtempSync(join(tmpdir(), "ratemesh-bills-"));
  metricsFile = join(dir, "metrics.yml");
  writeFileSync(metricsFile, METRICS);
});

after(async () => {
  await ck?.stop();
  await g?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Totals {
  [scopeAndType: string]: { price: string; qty: string; points: number };
}

describe("equal bills", () => {
  it("prices the same Gnocchi usage as CloudKitty 17's own code, per project and type, once migrated", async (t) => {
    const etcd = await EtcdServer.start(t);
    const scopes = [...exact, ...floats];
    ck = await startCloudKitty({
      extraConf: [
        "[collect]",
        "collector = gnocchi",
        `metrics_conf = ${metricsFile}`,
        "period = 3600",
        "wait_periods = 2",
        "[collector_gnocchi]",
        "gnocchi_auth_type = basic",
        `gnocchi_user = ${g.user}`,
        `gnocchi_endpoint = ${g.url}`,
        "[fetcher]",
        "backend = source",
        "[fetcher_source]",
        `sources = ${scopes.join(", ")}`,
        "[orchestrator]",
        `coordination_url = etcd3://127.0.0.1:${new URL(etcd.endpoint).port}`,
      ].join("\n"),
    });
    await cloudKittyPrices();

    // CloudKitty prices the window with its own code, as cloudkitty-processor would.
    // Asynchronously: the servers this process started write their logs into pipes it must keep reading.
    const py = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        SYSTEM_PYTHON,
        [join(REPO_ROOT, "test/support/cloudkitty_price.py"), ck.configFile, BEGIN.toISOString(), END.toISOString(), ...scopes],
        { encoding: "utf8", timeout: 280_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? -1), stdout, stderr }),
      );
    });
    assert.equal(
      py.code,
      0,
      `${py.stderr
        .split("\n")
        .filter((l) => / (ERROR|CRITICAL) /.test(l))
        .slice(0, 40)
        .join("\n")}\n${py.stderr.slice(-3000)}`,
    );
    const theirs = JSON.parse(py.stdout.trim().split("\n").at(-1) ?? "{}") as Totals;

    // ratemesh: storage and rating, then the migration, then a collector with the ratemesh.conf it wrote.
    const mesh = await startMesh(t, { withCollector: false });
    const env = meshEnv({ storage: mesh.storage.address, rating: mesh.rating.address });
    const out = join(dir, "ratemesh");
    const migrated = await runCli(
      [
        "migrate",
        "from-cloudkitty",
        "--cloudkitty",
        ck.url,
        "--cloudkitty-conf",
        ck.configFile,
        "--metrics-yml",
        metricsFile,
        "--output",
        out,
        "--storage-url",
        join(mesh.dir, "storage.sqlite"),
        "--rating-url",
        join(mesh.dir, "rating.sqlite"),
      ],
      { env },
    );
    assert.equal(migrated.code, 0, `${migrated.stdout}${migrated.stderr}`);
    await startService(t, {
      service: "collector",
      configFile: join(out, "ratemesh.conf"),
      env: {
        RATEMESH_COLLECTOR__LISTEN: "127.0.0.1:0",
        RATEMESH_COLLECTOR__METRICS_LISTEN: "off",
        RATEMESH_STORAGE__ENDPOINT: mesh.storage.address,
        RATEMESH_RATING__ENDPOINT: mesh.rating.address,
        RATEMESH_COLLECT__START: BEGIN.toISOString(),
        RATEMESH_COLLECT__END: END.toISOString(),
      },
    });
    await waitRatedUpTo(mesh, scopes, END, 180_000);

    const res = await mesh.clients.storage.summary({
      begin: BEGIN,
      end: END,
      groupBy: ["scope_id", "type"],
      filters: [],
      orderBy: [],
      pageSize: 1000,
      pageToken: "",
    });
    const col = (name: string) => res.columns.indexOf(name);
    const ours: Totals = {};
    for (const r of res.rows) {
      const v = r.values;
      ours[`${v[col("scope_id")]}|${v[col("type")]}`] = { price: v[col("price")] ?? "", qty: v[col("qty")] ?? "", points: 0 };
    }
    const counted = await mesh.clients.storage.total({ begin: BEGIN, end: END, filters: [] });

    // Every project and type, with the same number of points.
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
    assert.equal(
      Number(counted.points),
      Object.values(theirs).reduce((n, x) => n + x.points, 0),
    );
    assert.ok(Object.keys(ours).length >= scopes.length * 7, "each project has every type");
    const sum = (xs: string[]) => xs.reduce((a, x) => a.add(Decimal.parseLoose(x)), Decimal.ZERO);
    for (const [key, mine] of Object.entries(ours)) {
      const other = theirs[key] as Totals[string];
      if (exact.some((s) => key.startsWith(`${s}|`))) {
        assert.ok(Decimal.parseLoose(mine.qty).eq(Decimal.parseLoose(other.qty)), `${key}: quantity ${mine.qty} = ${other.qty}`);
        assert.ok(
          Decimal.parseLoose(mine.price).eq(Decimal.parseLoose(other.price)),
          `${key}: price ${mine.price} = ${other.price} to the last digit`,
        );
      } else {
        assert.equal(
          Number(mine.price).toPrecision(15),
          Number(other.price).toPrecision(15),
          `${key}: price ${mine.price} ~ ${other.price}`,
        );
      }
    }
    const total = (t: Totals, keep: (key: string) => boolean) =>
      sum(
        Object.entries(t)
          .filter(([k]) => keep(k))
          .map(([, v]) => v.price),
      );
    const isExact = (k: string) => exact.some((s) => k.startsWith(`${s}|`));
    assert.ok(total(ours, isExact).eq(total(theirs, isExact)), "the total of the exact projects, to the last digit");
    assert.ok(total(ours, isExact).gt(Decimal.ZERO));
    const all = (x: Totals) => Number(total(x, () => true).toString()).toPrecision(15);
    assert.equal(all(ours), all(theirs), "the total over every project");
  });
});
