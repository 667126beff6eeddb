/**
 * How a service declares the configuration it reads. The mesh shares one INI
 * file with CloudKitty's section and option names; each service declares the
 * sections and options it reads (its own, plus the few it shares, such as
 * [log] or another service's address) and the checks across them. libs/
 * knows none of them: a service hands its declaration to loadConfig.
 */
import type { Option, OptionValue } from "./options.js";

/** Sections of options, as a service declares them. */
export type Sections = Record<string, Record<string, Option<unknown>>>;

/** The parsed values of declared sections. */
export type ConfigOf<S extends Sections> = {
  readonly [N in keyof S]: { readonly [O in keyof S[N]]: OptionValue<S[N][O]> };
};

/** Records a problem with an option's value. */
export type Reporter<S extends Sections = Sections> = (section: keyof S & string, option: string, message: string) => void;

/** What a check across options receives. */
export interface CheckContext<S extends Sections> {
  config: ConfigOf<S>;
  report: Reporter<S>;
}

/**
 * A check across options. Declared through a method so that a service's
 * declaration can be handled as any service's (tools list them together).
 */
export type Check<S extends Sections> = { check(ctx: CheckContext<S>): void }["check"];

/** One service's configuration: its name, what it reads, and its checks across options. */
export interface ServiceConfig<S extends Sections> {
  readonly service: string;
  readonly sections: S;
  readonly checks: ReadonlyArray<Check<S>>;
}

export function defineServiceConfig<S extends Sections>(
  service: string,
  sections: S,
  checks: ReadonlyArray<Check<S>> = [],
): ServiceConfig<S> {
  return { service, sections, checks };
}

/**
 * Every option any service of the mesh declares, so that a service checks
 * the whole shared file and tells an option it does not read from a
 * misspelt one.
 */
export type Catalog = Readonly<Sections>;
