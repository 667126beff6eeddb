import type { CheckContext } from "../../../libs/config/config.js";
import { duration, int, str } from "../../../libs/config/options.js";
import { parseCoordinationUrl } from "../../../libs/coordination/url.js";
import { orchestrator as cloudkittyOrchestrator } from "./cloudkitty.js";

/** How collector processes share the work: CloudKitty's [orchestrator]. */

const orchestrator = {
  coordination_url: str({
    help: "etcd endpoints for coordination between collector processes, in tooz's forms: etcd3://10.0.0.1:2379 (as Debian's CloudKitty), etcd3+http://10.0.0.1:2379,10.0.0.2:2379 or etcd3+https://…. Empty: a single process coordinates in memory.",
    default: "",
  }),
  coordination_prefix: str({
    help: "Key prefix in etcd under which the collector processes of one deployment coordinate.",
    default: "/ratemesh",
  }),
  lease_ttl: duration({
    help: "TTL of each collector process's etcd lease: a process that dies loses its scopes to the others after about this long. It is kept alive in the background whatever the work is doing.",
    default: 10,
    min: 2,
    max: 3600,
  }),
  max_workers: int({
    help: "How many scopes one collector process works on at once.",
    default: 16,
    min: 1,
    max: 1024,
  }),
  max_threads: int({
    help: "How many metrics are collected at once for one batch of scopes and periods.",
    default: 16,
    min: 1,
    max: 1024,
  }),
  collector_request_timeout: duration({
    help: "Deadline for collecting every metric of one batch of periods from the source. A batch that misses it fails, is recorded on its scopes, and is tried again later with backoff.",
    default: 300,
    min: 0.1,
  }),
  ...cloudkittyOrchestrator,
};

export const sections = { orchestrator };

export function checks({ config: c, report }: CheckContext<typeof sections>): void {
  const url = c.orchestrator.coordination_url;
  if (c.orchestrator.coordination_prefix === "" || !c.orchestrator.coordination_prefix.startsWith("/")) {
    report("orchestrator", "coordination_prefix", "must start with /");
  }
  if (url === "") return;
  try {
    parseCoordinationUrl(url);
  } catch (err) {
    // tooz's other backends: say what ratemesh coordinates with instead.
    const other = /^(file|memcached|redis|zookeeper|kazoo|mysql|postgresql|consul|zake|ipc):/.test(url)
      ? "; ratemesh coordinates collector processes through etcd only: etcd3://host:2379, or leave it empty for a single collector process"
      : "";
    report("orchestrator", "coordination_url", `${(err as Error).message}${other}`);
  }
}
