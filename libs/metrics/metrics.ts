/**
 * A process's metrics: one registry per process, built by the composition
 * root and handed to whatever counts (no global registry), with the
 * process and runtime metrics (CPU, memory, file descriptors, event loop
 * lag, garbage collection) already in it. Served as text by endpoint.ts.
 *
 * Names follow the usual conventions: a prefix per project, the unit in
 * the name (`_seconds`, `_bytes`), counters ending in `_total`, and labels
 * whose values come from a small fixed set, never from data (one series
 * per tenant would grow without bound).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/**
 * Runtime gauges that end in `_total` though they are not counters (the
 * linters of the format reject them); each is the sum of the series of the
 * gauge of the same name without the suffix, which stays.
 */
const MISNAMED_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/** A registry with the process and runtime metrics. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

/** Latency buckets (seconds) from 1 ms to 30 s: RPCs, database transactions, requests to a source. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A counter without labels. */
export function counter(registry: Registry, name: string, help: string): Counter {
  return new Counter({ name, help, registers: [registry] });
}

/** A histogram without labels. */
export function histogram(registry: Registry, name: string, help: string, buckets: number[] = LATENCY_BUCKETS): Histogram {
  return new Histogram({ name, help, buckets, registers: [registry] });
}

/** A counter with one label whose values are known in advance, each child bound once. */
export function boundCounter<const V extends string>(
  registry: Registry,
  spec: { name: string; help: string; label: string; values: readonly V[] },
): Record<V, Counter.Internal> {
  const counter = new Counter({ name: spec.name, help: spec.help, labelNames: [spec.label], registers: [registry] });
  const out = {} as Record<V, Counter.Internal>;
  for (const v of spec.values) {
    out[v] = counter.labels(v);
    // Every value exists from the start at 0, so that a rate or a sum over it has a baseline.
    out[v].inc(0);
  }
  return out;
}

/** A gauge read when the registry is scraped (nothing to update on the hot path). */
export function observedGauge(registry: Registry, spec: { name: string; help: string; read: () => number }): Gauge {
  return new Gauge({
    name: spec.name,
    help: spec.help,
    registers: [registry],
    collect() {
      this.set(spec.read());
    },
  });
}
