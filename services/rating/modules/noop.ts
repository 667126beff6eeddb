import type { RatingModule } from "../domain.js";

/** Leaves every price as it is (CloudKitty's noop module). */
export const noopModule: RatingModule = {
  name: "noop",
  description: "Leaves prices unchanged.",
  rate() {},
  explain() {
    return [{ group: "", kind: "noop", ruleId: "", detail: "prices are left unchanged", value: "" }];
  },
};
