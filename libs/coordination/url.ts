/** Where the etcd coordinator finds etcd: the URL forms of the coordination option. */

/**
 * The etcd endpoints of an [orchestrator] coordination_url, in the forms
 * tooz accepts for etcd v3: "etcd3://a:2379" (its gRPC driver),
 * "etcd3+http://a:2379" and "etcd3+https://a:2379" (its gateway driver),
 * with several hosts separated by commas. "etcd3+http://a:2379,b:2379"
 * gives ["http://a:2379", "http://b:2379"]. Query options (tooz's timeouts,
 * client certificates) are refused: nothing here would honour them.
 */
export function parseCoordinationUrl(url: string): string[] {
  const m = /^(etcd3|etcd3?\+https?):\/\/([^?#/]+)\/*(\?[^#]*)?$/.exec(url);
  if (m === null) {
    throw new Error(
      `${JSON.stringify(url)} is not an etcd URL (etcd3://host:port, etcd3+http://host:port or etcd3+https://host:port, hosts separated by commas)`,
    );
  }
  if (m[3] !== undefined && m[3] !== "?") {
    const names = [...new URLSearchParams(m[3]).keys()].join(", ");
    throw new Error(
      `${JSON.stringify(url)}: URL options (${names}) are not supported: the lease TTL is [orchestrator] lease_ttl, and etcd is reached over plain http or https`,
    );
  }
  const scheme = (m[1] as string).endsWith("https") ? "https" : "http";
  const hosts = (m[2] as string).split(",").map((h) => h.trim());
  if (hosts.some((h) => !/^(\[[^\]]+\]|[^:[\]]+)(:\d{1,5})?$/.test(h))) {
    throw new Error(`${JSON.stringify(url)} is not an etcd URL: each host must be host[:port]`);
  }
  // tooz's default port when none is given.
  return hosts.map((h) => `${scheme}://${/:\d+$/.test(h) ? h : `${h}:2379`}`);
}
