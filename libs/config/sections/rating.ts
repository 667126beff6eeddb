import type { CheckContext } from "../check.js";
import { duration, hostPort, oneOf, str } from "../options.js";

/** The rating service: its own database (price lists, module states) and its address. */

const rating = {
  listen: hostPort({ help: "Address the rating service listens on (port 0: any free port).", default: "127.0.0.1:9632" }),
  endpoint: str({
    help: "Address other services use to reach rating (host:port). Default: the listen address.",
  }),
  backend: oneOf({
    help: "Engine of the rating service's own tables (price lists, module states): sqlite or postgresql.",
    choices: ["sqlite", "postgresql"],
    default: "sqlite",
  }),
  url: str({
    help: "sqlite: path of the database file. postgresql: a connection URL.",
    default: "ratemesh-rating.sqlite",
    secret: true,
  }),
  refresh_interval: duration({
    help: "How often each rating replica checks whether price lists or module states changed (one primary-key read); a change made elsewhere is priced with after at most this long plus a reload.",
    default: 0.25,
    min: 0.05,
    max: 60,
  }),
  rules_frame_timeout: duration({
    help: "Wall time one frame may spend in CEL price rules before the Rate call fails with DEADLINE_EXCEEDED.",
    default: 2,
    min: 0.01,
  }),
};

export const sections = { rating };

export function checks({ config: c, service, report }: CheckContext): void {
  const { backend, url, endpoint } = c.rating;
  if (service === "rating") {
    if (backend === "postgresql" && !/^postgres(ql)?:\/\//.test(url)) {
      report("rating", "url", "a postgresql:// URL is required when backend = postgresql");
    }
    if (backend === "sqlite" && url === "") report("rating", "url", "a file path is required when backend = sqlite");
  }
  if (endpoint !== undefined && !/^(\[[^\]]+\]|[^:/]+):\d{1,5}$/.test(endpoint)) {
    report("rating", "endpoint", `${JSON.stringify(endpoint)} is not host:port`);
  }
}
