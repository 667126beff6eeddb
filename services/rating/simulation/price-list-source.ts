/**
 * The price list a simulation prices under, and what the simulation needs
 * of it: a pricer that prices a frame's points in place, exactly as Rate
 * would under that price list.
 *
 * "In force" is the live pipeline (each frame with the rules valid at its
 * `at`, the period's start: what re-rating the period would give). Drafts
 * and published versions come from the price-list versions (another part
 * of the house): they plug in as a `PriceListSource` whose `resolve`
 * answers those selectors; until then they are UNIMPLEMENTED.
 */
import { FailedPreconditionError, UnimplementedError } from "../../../libs/errors/errors.js";
import { PointError, type RatingFrame } from "../domain.js";
import type { Pipeline } from "../pipeline.js";

export type PriceListSelector = { kind: "in_force" } | { kind: "draft"; name: string } | { kind: "version"; version: bigint };

export interface SimulationPricer {
  /** The price list in words, for the answer ("in force", "draft spring", "version 7"). */
  readonly description: string;
  /**
   * Prices the frame's points in place (each arrives with price "0"), with
   * the rules this price list has at the frame's `at`; returns how many
   * points no rule priced. Throws PointError for a point the modules refuse.
   */
  priceFrame(frame: RatingFrame): number;
}

export interface PriceListSource {
  /** The pricer of a selector; NOT_FOUND for a draft or version that does not exist. */
  resolve(selector: PriceListSelector): Promise<SimulationPricer>;
}

export function describeSelector(s: PriceListSelector): string {
  switch (s.kind) {
    case "in_force":
      return "in force";
    case "draft":
      return `draft ${s.name}`;
    case "version":
      return `version ${s.version}`;
  }
}

/** The live pipeline as a pricer: the same modules, order and validity windows as Rate. */
export function pipelinePricer(pipeline: Pipeline, description = "in force"): SimulationPricer {
  return {
    description,
    priceFrame(frame) {
      pipeline.rate([frame]);
      return pipeline.unpriced(frame)?.points ?? 0;
    },
  };
}

/**
 * The price lists a rating process has today: the one in force. `drafts`,
 * when given, answers drafts and versions (the price-list versions plug in
 * here).
 */
export class PipelinePriceLists implements PriceListSource {
  constructor(
    private readonly pipeline: Pipeline,
    private readonly drafts?: PriceListSource,
  ) {}

  async resolve(selector: PriceListSelector): Promise<SimulationPricer> {
    if (selector.kind === "in_force") return pipelinePricer(this.pipeline);
    if (this.drafts !== undefined) return this.drafts.resolve(selector);
    throw new UnimplementedError(
      `${describeSelector(selector)}: drafts and published versions of the price list are not available on this rating service; simulate under in_force`,
    );
  }
}

/**
 * Prices a stored frame; a point the modules refuse is a stored rule's or
 * point's problem, not the request's: FAILED_PRECONDITION naming the frame
 * and the point.
 */
export function priceStored(pricer: SimulationPricer, frame: RatingFrame): number {
  try {
    return pricer.priceFrame(frame);
  } catch (err) {
    if (err instanceof PointError) {
      const field = err.field === "" ? "" : `.${err.field}`;
      throw new FailedPreconditionError(
        `the stored point ${err.pointIndex} of scope ${frame.scopeId} at ${frame.at.toISOString()}${field} cannot be priced under the simulated price list: ${err.problem}`,
      );
    }
    throw err;
  }
}
