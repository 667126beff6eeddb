/** The configuration rating reads: its own database (price lists, module states) and its address. */
import { commonSections, endpointProblem, serviceAddress } from "../../libs/config/common.js";
import { type ConfigOf, defineServiceConfig, type LoadOptions, loadConfig } from "../../libs/config/config.js";
import { duration, oneOf, str } from "../../libs/config/options.js";

const rating = {
  ...serviceAddress("rating", "127.0.0.1:9632"),
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

export const ratingConfig = defineServiceConfig("rating", { ...commonSections, rating }, [
  ({ config: c, report }) => {
    const { backend, url, endpoint } = c.rating;
    if (backend === "postgresql" && !/^postgres(ql)?:\/\//.test(url)) {
      report("rating", "url", "a postgresql:// URL is required when backend = postgresql");
    }
    if (backend === "sqlite" && url === "") report("rating", "url", "a file path is required when backend = sqlite");
    const bad = endpointProblem(endpoint);
    if (bad !== undefined) report("rating", "endpoint", bad);
  },
]);

export type RatingConfig = ConfigOf<typeof ratingConfig.sections>;

export function loadRatingConfig(opts: LoadOptions = {}): RatingConfig {
  return loadConfig(ratingConfig, opts);
}
