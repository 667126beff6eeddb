/**
 * A counting TCP relay in front of a real server: every connection a
 * client opens to the relay gets its own connection to the server, so the
 * relay sees exactly the connections the server sees from that client. It
 * records how many are open at once (the peak), how many were opened in
 * all, and can inject faults the real server cannot be made to produce on
 * demand: answer the first requests with a 503, or cut connections.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface RelayStats {
  open: number;
  peak: number;
  total: number;
}

export interface RelayOptions {
  /** Answer this many connections with "503 Service Unavailable" (then close), before relaying. */
  fail503?: number;
  /** Close this many connections at once, without an answer, before relaying. */
  reset?: number;
}

export interface Relay {
  port: number;
  url: string;
  stats: RelayStats;
  /** Forget the peak and total (the open count stays true). */
  resetStats(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number, opts: RelayOptions = {}): Promise<Relay> {
  const stats: RelayStats = { open: 0, peak: 0, total: 0 };
  let fail503 = opts.fail503 ?? 0;
  let reset = opts.reset ?? 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    stats.open++;
    stats.total++;
    stats.peak = Math.max(stats.peak, stats.open);
    client.once("close", () => {
      stats.open--;
      sockets.delete(client);
    });
    client.on("error", () => {});
    if (reset > 0) {
      reset--;
      client.destroy();
      return;
    }
    if (fail503 > 0) {
      fail503--;
      client.once("data", () => {
        const body = "Gnocchi is overloaded, try later";
        client.end(
          `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
      return;
    }
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.once("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.once("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    resetStats() {
      stats.peak = stats.open;
      stats.total = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
