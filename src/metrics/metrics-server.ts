/**
 * A process's Prometheus metrics on a port of its own (GET /metrics, unauthenticated: bind it
 * where only the scraper reaches). Everything else answers 404.
 */
import { createServer, type Server } from 'node:http';

/** A process's metrics: their Prometheus text, read at each scrape. */
export interface ScrapedMetrics {
  readonly contentType: string;
  scrape(): Promise<string>;
}

export async function serveMetrics(metrics: ScrapedMetrics, host: string, port: number, onError: (err: unknown) => void): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => {
        onError(err);
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
