/**
 * RatingService handlers: validated conversion of frames and points to the
 * domain, the pipeline, and back.
 *
 * Rate takes the hand-written codec (codec/wire-frames.ts): the request arrives
 * as decoded frames that still know where their bytes are, is validated
 * here field by field, priced in place, and re-encoded with the new prices.
 */
import { FailedPreconditionError, InvalidArgumentError } from "../../libs/errors/errors.js";
import type { DataPoint } from "../../libs/gen/ratemesh/v1/common.js";
import { type FrameMonthToDate, RatingServiceService, type UnpricedPoints, UnpricedReason } from "../../libs/gen/ratemesh/v1/rating.js";
import type { Handlers } from "../../libs/grpc/server.js";
import { Decimal } from "../../libs/money/decimal.js";
import type { Clock } from "../../libs/time/period.js";
import { annotate } from "../../libs/tracing/tracing.js";
import { optionalDate, requireText } from "../../libs/validation/fields.js";
import { checkDecimalDigits, type InputLimits } from "../../libs/validation/limits.js";
import { decodeFrames } from "./codec/decode-frames.js";
import { encodeFrames } from "./codec/encode-frames.js";
import type { FramesMessage } from "./codec/wire-frames.js";
import { type UnpricedReason as DomainUnpricedReason, isPlainDecimal, PointError, type RatingFrame, type RatingPoint } from "./domain.js";
import type { ModuleInfo, Pipeline } from "./pipeline.js";
import type { RatingTelemetry } from "./telemetry.js";

export interface RatingApiDeps {
  pipeline: Pipeline;
  clock: Clock;
  /** Where frames and points rated are counted; none: not counted. */
  telemetry?: RatingTelemetry;
  /**
   * Limits on Rate's points (other methods' requests are checked by the
   * server wrapper; Rate's are decoded by the codec into its own objects).
   */
  limits?: InputLimits;
}

/**
 * RatingService with Rate on the hand-written codec. RateRequest and
 * RateResponse share one layout, so the same pair of functions serves both
 * directions (and a client built on this definition).
 */
export const RatingServiceDefinition = {
  ...RatingServiceService,
  rate: {
    ...RatingServiceService.rate,
    requestSerialize: encodeFrames,
    requestDeserialize: decodeFrames,
    responseSerialize: encodeFrames,
    responseDeserialize: decodeFrames,
  },
} as const;

const UNPRICED_REASONS: Record<DomainUnpricedReason, UnpricedReason> = {
  no_module_enabled: UnpricedReason.UNPRICED_REASON_NO_MODULE_ENABLED,
  no_rule_in_force: UnpricedReason.UNPRICED_REASON_NO_RULE_IN_FORCE,
};

function badDecimal(field: string, value: string): InvalidArgumentError {
  return new InvalidArgumentError(field, `${JSON.stringify(value)} is not an exact decimal (e.g. "12.5", "-0.001")`);
}

/** Checks a point in place (Rate's decoded points are already domain-shaped). */
function checkPoint(p: RatingPoint, field: string, limits?: InputLimits): void {
  if (p.type === "") throw new InvalidArgumentError(`${field}.type`, "is required");
  if (limits !== undefined) {
    // Measured before anything parses them: a huge decimal costs its length, not seconds of BigInt.
    if (p.type.length > limits.maxIdLength)
      throw new InvalidArgumentError(`${field}.type`, `is ${p.type.length} characters long; at most ${limits.maxIdLength}`);
    checkDecimalDigits(p.qty, `${field}.qty`, limits.maxDecimalDigits);
    if (p.price !== "") checkDecimalDigits(p.price, `${field}.price`, limits.maxDecimalDigits);
  }
  if (!isPlainDecimal(p.qty)) throw badDecimal(`${field}.qty`, p.qty);
  if (p.price !== "" && !isPlainDecimal(p.price)) throw badDecimal(`${field}.price`, p.price);
}

export function toRatingPoint(p: DataPoint, field: string): RatingPoint {
  const point: RatingPoint = {
    type: requireText(p.type, `${field}.type`),
    unit: p.unit,
    qty: p.qty,
    price: p.price === "" ? "0" : p.price,
    groupby: { ...p.groupby },
    metadata: { ...p.metadata },
  };
  checkPoint(point, field);
  return point;
}

export function toDataPoint(p: RatingPoint): DataPoint {
  return { type: p.type, unit: p.unit, qty: p.qty, price: p.price, groupby: p.groupby, metadata: p.metadata };
}

function toModuleMessage(m: ModuleInfo) {
  return { name: m.name, description: m.description, enabled: m.enabled, priority: m.priority };
}

/**
 * Runs the pipeline, turning a point the modules refused into the error of
 * the request field (`pointField` names the point at an index).
 */
function rated(pointField: (index: number) => string, run: () => void): void {
  try {
    run();
  } catch (err) {
    if (err instanceof PointError) {
      const field = `${pointField(err.pointIndex)}${err.field === "" ? "" : `.${err.field}`}`;
      if (err.kind === "failed_precondition") throw new FailedPreconditionError(`${field}: ${err.problem}`);
      throw new InvalidArgumentError(field, err.problem);
    }
    throw err;
  }
}

function quantity(value: string, field: string): string {
  if (!isPlainDecimal(value)) throw badDecimal(field, value);
  return value;
}

/** Validated month-to-date quantities by type. */
function monthToDateOf(byType: Record<string, string>, field: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [type, qty] of Object.entries(byType)) out.set(type, quantity(qty, `${field}[${JSON.stringify(type)}]`));
  return out;
}

/** Gives each frame the month-to-date quantities its entry names (tiers.ts in the hashmap). */
function attachMonthToDate(frames: RatingFrame[], entries: FrameMonthToDate[] | undefined): void {
  if (entries === undefined) return;
  entries.forEach((e, k) => {
    const frame = frames[e.frame];
    if (frame === undefined || !Number.isInteger(e.frame))
      throw new InvalidArgumentError(`month_to_date.frames[${k}].frame`, `${e.frame} is not the index of a frame of the request`);
    frame.monthToDate = monthToDateOf(e.qty, `month_to_date.frames[${k}].qty`);
  });
}

export function ratingHandlers(deps: RatingApiDeps): Handlers<typeof RatingServiceDefinition> {
  const { pipeline, clock, telemetry, limits } = deps;
  // Longer than this, a decimal has too many digits whatever they are; shorter, the fast path below checks it.
  const maxDecimal = limits === undefined ? Number.POSITIVE_INFINITY : 2 * limits.maxDecimalDigits + 2;
  const maxType = limits?.maxIdLength ?? Number.POSITIVE_INFINITY;
  return {
    async rate(req: FramesMessage): Promise<FramesMessage> {
      const frames = req.frames;
      let pointCount = 0;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i] as (typeof frames)[number];
        if (f.scopeId.trim() === "") throw new InvalidArgumentError(`frames[${i}].scope_id`, "is required");
        if (!f.hasBegin) throw new InvalidArgumentError(`frames[${i}].begin`, "is required");
        if (f.begin === undefined || Number.isNaN(f.begin.getTime()))
          throw new InvalidArgumentError(`frames[${i}].begin`, "is not a valid timestamp");
        const points = f.points;
        pointCount += points.length;
        for (let j = 0; j < points.length; j++) {
          const p = points[j] as RatingPoint;
          if (
            p.type === "" ||
            p.type.length > maxType ||
            p.qty.length > maxDecimal ||
            p.price.length > maxDecimal ||
            !isPlainDecimal(p.qty) ||
            (p.price !== "" && !isPlainDecimal(p.price))
          )
            checkPoint(p, `frames[${i}].points[${j}]`, limits);
        }
      }
      attachMonthToDate(frames, req.monthToDate);
      delete req.monthToDate;
      const unpriced: UnpricedPoints[] = [];
      let monthDependent = false;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i] as RatingFrame;
        rated(
          (j) => `frames[${i}].points[${j}]`,
          () => pipeline.rate([f]),
        );
        if (f.monthDependent === true) monthDependent = true;
        const u = pipeline.unpriced(f);
        if (u !== undefined) {
          unpriced.push({ frame: i, points: String(u.points), types: u.types, reason: UNPRICED_REASONS[u.reason] });
          telemetry?.unpriced(u.reason).inc(u.points);
        }
      }
      telemetry?.framesRated.inc(frames.length);
      telemetry?.pointsRated.inc(pointCount);
      annotate({ "ratemesh.frames": frames.length, "ratemesh.points": pointCount });
      if (unpriced.length > 0) req.unpriced = unpriced;
      else delete req.unpriced;
      if (monthDependent) req.monthDependent = true;
      return req;
    },

    async quote(req) {
      if (req.points.length === 0) throw new InvalidArgumentError("points", "needs at least one point");
      const frame: RatingFrame = {
        scopeId: req.scopeId,
        at: optionalDate(req.at, "at") ?? clock.now(),
        points: req.points.map((p, i) => toRatingPoint(p, `points[${i}]`)),
        monthToDate: monthToDateOf(req.monthToDate?.qty ?? {}, "month_to_date.qty"),
      };
      rated(
        (j) => `points[${j}]`,
        () => pipeline.rate([frame]),
      );
      const total = frame.points.reduce((sum, p) => sum.add(Decimal.parse(p.price === "" ? "0" : p.price)), Decimal.ZERO);
      return { total: total.toString(), points: frame.points.map(toDataPoint), priceListVersion: String(pipeline.versionAt(frame.at)) };
    },

    async explain(req) {
      if (req.point === undefined) throw new InvalidArgumentError("point", "is required");
      const point = toRatingPoint(req.point, "point");
      const at = optionalDate(req.at, "at") ?? clock.now();
      let modules: ReturnType<Pipeline["explain"]> = [];
      rated(
        () => "point",
        () => {
          modules = pipeline.explain(point, req.scopeId, at, quantity(req.monthToDate ?? "0", "month_to_date"));
        },
      );
      return { point: toDataPoint(point), modules, priceListVersion: String(pipeline.versionAt(at)) };
    },

    async listModules() {
      return { modules: pipeline.list().map(toModuleMessage) };
    },

    async updateModule(req) {
      const name = requireText(req.name, "name");
      const module = await pipeline.update(name, { enabled: req.enabled, priority: req.priority });
      return { module: toModuleMessage(module) };
    },
  };
}
