import { duration, int } from "../../../libs/config/options.js";

/** The retry options of an HTTP source section (Gnocchi, Prometheus): `what` is one request or one query. */
export function retryOptions(what: "request" | "query") {
  return {
    retries: int({
      help: `How many times a ${what} is tried again after a connection error, a timeout or a 5xx answer, with exponential backoff.`,
      default: 3,
      min: 0,
      max: 20,
    }),
    retry_backoff: duration({
      help: "First backoff between retries; it doubles at each attempt (with jitter), up to 10 s.",
      default: 0.5,
      min: 0,
    }),
  };
}
