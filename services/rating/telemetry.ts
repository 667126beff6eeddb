/**
 * What rating counts (the `ratemesh_rating_*` metrics; the full table is
 * in deploy/prometheus/README.md): frames and points rated, the time each
 * module spends on them, and the price-list version in force. Counted once
 * per frame or call, never per point.
 */
import { Counter, counter, observedGauge, type Registry } from "../../libs/metrics/metrics.js";

export class RatingTelemetry {
  readonly framesRated: Counter;
  readonly pointsRated: Counter;
  private readonly moduleSeconds: Counter<"module">;
  private readonly byModule = new Map<string, Counter.Internal>();

  constructor(registry: Registry, priceListVersion: () => number) {
    this.framesRated = counter(registry, "ratemesh_rating_frames_rated_total", "Frames (one scope's period) priced by Rate.");
    this.pointsRated = counter(registry, "ratemesh_rating_points_rated_total", "Points priced by Rate.");
    this.moduleSeconds = new Counter({
      name: "ratemesh_rating_module_seconds_total",
      help: "Time each rating module spent pricing frames, in seconds (its rate is the module's share of a CPU).",
      labelNames: ["module"],
      registers: [registry],
    });
    observedGauge(registry, {
      name: "ratemesh_rating_price_list_version",
      help: "Version of the price lists and module states this replica prices with (it moves with every change).",
      read: priceListVersion,
    });
  }

  /** The counter of one module's time (a module name: one of the few registered modules). */
  module(name: string): Counter.Internal {
    let c = this.byModule.get(name);
    if (c === undefined) {
      c = this.moduleSeconds.labels(name);
      this.byModule.set(name, c);
    }
    return c;
  }
}
