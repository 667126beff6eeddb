/** Every ratemesh service's configuration declaration, for the tools that look at the mesh as a whole. */
import type { Sections, ServiceConfig } from "../libs/config/config.js";
import { apiConfig } from "../services/api/config.js";
import { collectorConfig } from "../services/collector/config.js";
import { ratingConfig } from "../services/rating/config.js";
import { storageConfig } from "../services/storage/config.js";

export const SERVICE_CONFIGS: ReadonlyArray<ServiceConfig<Sections>> = [storageConfig, ratingConfig, collectorConfig, apiConfig];
