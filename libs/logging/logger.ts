/**
 * Structured logs: pino, one JSON object per line on stdout. Ids, codes and
 * durations go in; payloads and secrets stay out (the redaction below is a
 * safety net, not a licence to log request bodies).
 */
import { type DestinationStream, type Logger, pino } from "pino";

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
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that writes nothing, for in-process tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
