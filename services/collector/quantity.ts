/**
 * The quantity pipeline every collector applies to a collected value, as
 * CloudKitty does: qty = value × factor + offset, then the mutation. Exact
 * decimals, unless the collector asks for a context: CloudKitty's Prometheus
 * collector computes under precision 9, ROUND_HALF_UP (the value itself is
 * rounded first, `+Decimal(value)`), and ratemesh reproduces it.
 */
import { Decimal, type DecimalContext } from "../../libs/money/decimal.js";
import type { MetricConfig } from "./metrics.js";

export function convertQuantity(value: Decimal, metric: MetricConfig, context?: DecimalContext): Decimal {
  const qty =
    context === undefined
      ? value.mul(metric.factor).add(metric.offset)
      : context.add(context.mul(context.plus(value), metric.factor), metric.offset);
  switch (metric.mutate) {
    case "NONE":
      return qty;
    case "NUMBOOL":
      return qty.isZero() ? Decimal.ZERO : Decimal.ONE;
    case "NOTNUMBOOL":
      return qty.isZero() ? Decimal.ONE : Decimal.ZERO;
    case "FLOOR":
      return qty.floor();
    case "CEIL":
      return qty.ceil();
    case "MAP":
      return metric.mutateMap?.get(qty.normalize().toString()) ?? Decimal.ZERO;
  }
}
