import { tolerated } from "../../../libs/config/options.js";

/**
 * What a cloudkitty.conf sets for CloudKitty's processor that has no
 * meaning in ratemesh: accepted, so that the file works as it is, with one
 * warning per section (libs/config returns them; each service logs them at
 * start, `--check-config` prints them). Options that cannot be honoured are
 * refused where they are declared, with what to use instead.
 */

const ignored = (help: string) => ({ "*": tolerated({ help }) });

const DEFAULT = {
  ...ignored("CloudKitty's process-wide options (oslo.log, host, the message bus); ratemesh logs JSON lines to stdout"),
  debug: tolerated({ help: "use [log] level = debug" }),
  transport_url: tolerated({
    help: "CloudKitty's message bus; ratemesh's services call each other over gRPC at the addresses of [storage], [rating] and [collector]",
  }),
};

export const sections = {
  DEFAULT,
  "oslo_*": ignored("oslo.messaging and oslo.concurrency; ratemesh has no message bus and no file locks"),
  collector_monasca: ignored("ratemesh has no Monasca collector"),
  output: ignored("CloudKitty's v1 output writers; ratemesh keeps rated data in its storage service"),
  state: ignored("CloudKitty's v1 state files; scope states are in ratemesh's storage service"),
};

/** [orchestrator] options of CloudKitty's that ratemesh does without. */
export const orchestrator = {
  max_workers_reprocessing: tolerated({ help: "reprocessing takes the worker slots that rating leaves free ([orchestrator] max_workers)" }),
};

/** [collect] collector values of CloudKitty's that ratemesh has no collector for. */
export const collectorRefusals = {
  monasca: "ratemesh has no Monasca collector: use gnocchi or prometheus",
};
