/**
 * Structured logs: pino, one JSON object per line on stdout. Ids, codes and
 * durations go in; payloads and secrets stay out (the redaction below is a
 * safety net, not a licence to log request bodies). A line written inside
 * a recorded trace carries its trace_id and span_id, so that the log of a
 * unit of work can be found from its trace and the other way round.
 */
import { type DestinationStream, type Logger, pino } from "pino";
import { traceIds } from "../tracing/tracing.js";

export type { Logger } from "pino";

const REDACT = [
  "password",
  "token",
  "secret",
  "authorization",
  "*.password",
  "*.token",
  "*.secret",
  "*.authorization",
  "*.*.password",
  "headers.authorization",
  "headers.cookie",
];

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: opts.service, pid: process.pid },
      redact: { paths: REDACT, censor: "***" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A fresh object each line: pino merges the line's fields into it.
      mixin: () => traceIds() ?? {},
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that writes nothing, for in-process tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
