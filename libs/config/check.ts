import type { Config, SectionName, ServiceName } from "./schema.js";

/** Records a problem with an option's value. */
export type Reporter = (section: SectionName, option: string, message: string) => void;

/** What a section file's checks across options receive. */
export interface CheckContext {
  config: Config;
  service: ServiceName;
  report: Reporter;
}
