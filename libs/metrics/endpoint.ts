/**
 * The HTTP endpoint a scraper reads: `GET /metrics` answers the registry in
 * the text exposition format; every other path is 404. It has its own port
 * (not the gRPC one), so that it can be firewalled apart and keeps
 * answering while the gRPC server drains.
 */
import { createServer, type Server } from "node:http";
import type { HostPort } from "../config/options.js";
import type { Logger } from "../logging/logger.js";
import type { Registry } from "./metrics.js";

export interface MetricsEndpoint {
  /** host:port it is bound to (the real port when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

export async function serveMetrics(registry: Registry, listen: HostPort, logger: Logger): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ err }, "could not collect the metrics");
        res.writeHead(500, { "content-type": "text/plain" }).end("could not collect the metrics\n");
      },
    );
  });
  // Scrapers keep their connection open between scrapes.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`cannot listen on ${listen.host}:${listen.port} for metrics: ${err.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : listen.port;
  const address = listen.host.includes(":") ? `[${listen.host}]:${port}` : `${listen.host}:${port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
