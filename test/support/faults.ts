/**
 * A TCP relay in front of a real server that injects the faults the server
 * cannot be asked to produce: answers held back for a while (a slow
 * source), connections accepted and never answered (a hung source), or
 * closed at once (a server that is down). The fault can be changed while
 * the relay runs (`set`), for connections made from then on.
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import type { TestContext } from "node:test";

export type Fault = { kind: "delay"; ms: number } | { kind: "blackhole" } | { kind: "refuse" };

export interface FaultRelay {
  port: number;
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** HTTP/1.1 requests relayed so far (requests without a blank line in their body). */
  requests(): number;
  /** The fault of the connections made from now on. */
  set(fault: Fault): void;
}

export async function startFaultRelay(t: TestContext, targetPort: number, initial: Fault): Promise<FaultRelay> {
  let fault = initial;
  const sockets = new Set<Socket>();
  let accepted = 0;
  let requests = 0;
  const server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on("error", () => {});
    client.once("close", () => sockets.delete(client));
    if (fault.kind === "refuse") {
      client.destroy();
      return;
    }
    if (fault.kind === "blackhole") {
      // Read and discard the request; never answer, never close.
      client.on("data", () => {});
      return;
    }
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    upstream.once("close", () => sockets.delete(upstream));
    // A request's headers end with the first blank line; a JSON body has none.
    let carry = "";
    client.on("data", (chunk: Buffer) => {
      const text = carry + chunk.toString("latin1");
      for (let i = text.indexOf("\r\n\r\n"); i !== -1; i = text.indexOf("\r\n\r\n", i + 4)) {
        if (i + 4 > carry.length) requests++;
      }
      carry = text.slice(-3);
      upstream.write(chunk);
    });
    // Every chunk of the answer is held back `ms` after it arrives; order is kept.
    const { ms } = fault;
    upstream.on("data", (chunk) => setTimeout(() => client.write(chunk), ms));
    upstream.once("end", () => setTimeout(() => client.end(), ms));
    client.once("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    requests: () => requests,
    set: (f) => {
      fault = f;
    },
  };
}
