/** Creates the benchmark price list on a running rating service through HashmapService, and enables the hashmap. */
import { HashmapServiceService, RatingServiceService } from "../../../libs/gen/ratemesh/v1/rating.js";
import { Connection } from "../../../libs/grpc/client.js";
import { uploadPriceList } from "../modules/hashmap/price-list-upload.js";
import { benchPriceList } from "./pricelist.js";

export async function loadPriceList(address: string): Promise<void> {
  const conn = new Connection(address, {
    deadlineSeconds: 30,
    retries: 3,
    retryBackoffSeconds: 0.1,
    keepaliveSeconds: 30,
    maxMessageBytes: 64 << 20,
  });
  await uploadPriceList(conn.client(HashmapServiceService), benchPriceList());
  await conn.client(RatingServiceService).updateModule({ name: "hashmap", enabled: true, priority: undefined });
  conn.close();
}
