// Writes deploy/local/usage.jsonl: three days of hourly usage for three
// projects (instances, volumes, images, network traffic), deterministic so
// that the demo's figures are the same on every machine.
import { writeFileSync } from "node:fs";

let seed = 20261101;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const projects = {
  "acme-prod": {
    vms: [
      ["vm-acme-web1", "m1.small", 1],
      ["vm-acme-web2", "m1.small", 1],
      ["vm-acme-db", "m1.large", 4],
    ],
    volumes: [["vol-acme-db", 200, "ssd"]],
    images: [["img-acme-base", 2147483648, "qcow2"]],
  },
  "globex-dev": {
    vms: [["vm-globex-ci", "m1.medium", 2]],
    volumes: [
      ["vol-globex-ci", 50, "hdd"],
      ["vol-globex-cache", 20, "ssd"],
    ],
    images: [],
  },
  "initech-qa": {
    vms: [
      ["vm-initech-1", "m1.tiny", 1],
      ["vm-initech-2", "m1.tiny", 1],
    ],
    volumes: [],
    images: [["img-initech-qa", 536870912, "raw"]],
  },
};

const start = Date.UTC(2026, 10, 1);
const lines = [];
for (let h = 0; h < 72; h++) {
  const begin = new Date(start + h * 3600_000).toISOString().replace(".000Z", "Z");
  for (const [project, p] of Object.entries(projects)) {
    const user = `${project.split("-")[0]}-admin`;
    for (const [id, flavor, vcpus] of p.vms) {
      // initech's VMs only run during the working day.
      const running = !project.startsWith("initech") || (h % 24 >= 8 && h % 24 < 18);
      const cpuNs = running ? Math.round(3.6e12 * vcpus * (0.2 + 0.6 * rand())) : 0;
      lines.push({
        metric: "cpu",
        scope_id: project,
        begin,
        qty: cpuNs,
        groupby: { id, user_id: user },
        metadata: { flavor_name: flavor, vcpus: String(vcpus) },
      });
      const bytes = Math.round(5e7 + 4e8 * rand());
      lines.push({ metric: "network.outgoing.bytes", scope_id: project, begin, qty: bytes, groupby: { id } });
    }
    for (const [id, size, type] of p.volumes) {
      lines.push({
        metric: "volume.size",
        scope_id: project,
        begin,
        qty: size,
        groupby: { id, user_id: user },
        metadata: { volume_type: type },
      });
    }
    for (const [id, size, format] of p.images) {
      lines.push({
        metric: "image.size",
        scope_id: project,
        begin,
        qty: size,
        groupby: { id, user_id: user },
        metadata: { disk_format: format },
      });
    }
  }
}
writeFileSync(new URL("../deploy/local/usage.jsonl", import.meta.url), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
process.stdout.write(`${lines.length} records\n`);
