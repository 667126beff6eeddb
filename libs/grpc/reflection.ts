/**
 * gRPC server reflection from the real descriptors (generated at build time
 * by `buf build`), so that buf curl and grpcurl can call every method with
 * no proto file. Loading the protos with proto-loader instead loses the
 * dependencies between files (grpc/grpc-node#2595): listing would work and
 * every call would fail.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import { descriptorSets } from "../gen/descriptors.js";

let cache: Uint8Array[] | undefined;

/** Every file of the embedded descriptor sets, each encoded on its own. */
function fileDescriptorProtos(): Uint8Array[] {
  if (cache === undefined) {
    const byName = new Map<string, Uint8Array>();
    for (const b64 of descriptorSets) {
      const set = fromBinary(FileDescriptorSetSchema, Buffer.from(b64, "base64"));
      for (const file of set.file) {
        if (!byName.has(file.name)) byName.set(file.name, toBinary(FileDescriptorProtoSchema, file));
      }
    }
    cache = [...byName.values()];
  }
  return cache;
}

/** A reflection service that lists only the given fully qualified services. */
export function createReflection(services: string[]): ReflectionService {
  const pkg = { ratemesh: { fileDescriptorProtos: fileDescriptorProtos() } };
  // ReflectionService reads only `fileDescriptorProtos` from each entry.
  return new ReflectionService(pkg as unknown as ConstructorParameters<typeof ReflectionService>[0], { services });
}
