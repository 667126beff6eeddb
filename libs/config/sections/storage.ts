import type { CheckContext } from "../check.js";
import { hostPort, int, oneOf, str } from "../options.js";

/** The storage service: its engine and its address. */

const storage = {
  listen: hostPort({ help: "Address the storage service listens on (port 0: any free port).", default: "127.0.0.1:9631" }),
  endpoint: str({
    help: "Address other services use to reach storage (host:port). Default: the listen address.",
  }),
  backend: oneOf({
    help: "Storage engine: sqlite (one file, embedded) or postgresql.",
    choices: ["sqlite", "postgresql"],
    default: "sqlite",
  }),
  url: str({
    help: "sqlite: path of the database file (':memory:' for a throwaway one). postgresql: a connection URL, postgresql://user:password@host:port/dbname.",
    default: "ratemesh-storage.sqlite",
    secret: true,
  }),
  pool_size: int({
    help: "postgresql: connections to the database at most, shared by every call of this storage process.",
    default: 10,
    min: 1,
    max: 1000,
  }),
  cache_size: int({
    help: "sqlite: page cache of the database file, in MiB (more keeps more of a large database's rollups in memory).",
    default: 64,
    min: 1,
    max: 65536,
  }),
};

export const sections = { storage };

export function checks({ config: c, service, report }: CheckContext): void {
  const { backend, url, endpoint } = c.storage;
  if (service === "storage") {
    if (backend === "postgresql" && !/^postgres(ql)?:\/\//.test(url)) {
      report("storage", "url", "a postgresql:// URL is required when backend = postgresql");
    }
    if (backend === "sqlite" && url === "") report("storage", "url", "a file path is required when backend = sqlite");
  }
  if (endpoint !== undefined && !/^(\[[^\]]+\]|[^:/]+):\d{1,5}$/.test(endpoint)) {
    report("storage", "endpoint", `${JSON.stringify(endpoint)} is not host:port`);
  }
}
