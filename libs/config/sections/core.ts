import { bytes, duration, int, oneOf } from "../options.js";

/** Options every service reads: logging, gRPC server and client behaviour. */

export const log = {
  level: oneOf({
    help: "Minimum level of the log lines written to stdout (one JSON object per line).",
    choices: ["trace", "debug", "info", "warn", "error", "fatal"],
    default: "info",
  }),
};

export const server = {
  grace_period: duration({
    help: "On SIGTERM or SIGINT: how long in-flight calls (and a collector's current period) may take to finish before they are cancelled.",
    default: 10,
    min: 0,
  }),
  force_period: duration({
    help: "After the grace period: how long cancelled work may take to wind down before the process exits anyway.",
    default: 5,
    min: 0,
  }),
  max_message_size: bytes({
    help: "Largest gRPC message a server accepts or sends (a frame of 10,000 points is about 4 MiB).",
    default: 64 * 1024 * 1024,
    min: 4096,
  }),
  readiness_interval: duration({
    help: "How often a server re-checks its dependencies (database, etcd lease) to report its health.",
    default: 5,
    min: 0.1,
  }),
};

export const client = {
  deadline: duration({
    help: "Deadline of every call to another ratemesh service, retries included.",
    default: 30,
    min: 0.1,
  }),
  retries: int({
    help: "How many times a call that failed with UNAVAILABLE is tried again, with exponential backoff.",
    default: 5,
    min: 0,
    max: 100,
  }),
  retry_backoff: duration({
    help: "First backoff delay between retries; it doubles at each attempt (with jitter), up to 5 s.",
    default: 0.1,
    min: 0,
  }),
  keepalive_time: duration({
    help: "Interval of HTTP/2 keepalive pings on connections to other ratemesh services.",
    default: 30,
    min: 1,
  }),
};

export const sections = { log, server, client };
