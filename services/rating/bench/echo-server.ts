/**
 * The baseline of the gRPC benchmark: a plain grpc-js server, in its own
 * process, that answers /ratemesh.v1.RatingService/Rate with the request's
 * own bytes (no decoding, no encoding). Prints its port on stdout.
 */
import * as grpc from "@grpc/grpc-js";

const server = new grpc.Server({ "grpc.max_receive_message_length": 256 << 20, "grpc.max_send_message_length": 256 << 20 });
const raw = (b: Buffer) => b;
server.addService(
  {
    rate: {
      path: "/ratemesh.v1.RatingService/Rate",
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  },
  { rate: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) throw err;
  process.stdout.write(`${port}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
