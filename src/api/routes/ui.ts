/**
 * The dashboard's files (src/ui/, and uPlot from its package), served under /ui with no key: the
 * page signs in with an API key of its own and calls /v1. No CDN: everything comes from here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** src/ui from both src/api/routes (tsx) and dist/api/routes (built): three levels up is the checkout. */
const UI_DIR = fileURLToPath(new URL('../../../src/ui/', import.meta.url));
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot')), '..', 'dist');

const FILES: Record<string, { path: string; type: string }> = {
  '/ui/': { path: join(UI_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { path: join(UI_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { path: join(UI_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  '/ui/uplot.js': { path: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/uplot.css': { path: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Scripts and styles from this origin only; the page talks to /v1 on it. */
const CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'";

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const files = Object.entries(FILES).map(([url, { path, type }]) => ({ url, type, body: readFileSync(path) }));
  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect('/ui/'));
  for (const { url, type, body } of files) {
    app.get(url, { schema: { hide: true } }, (_request, reply) => reply.type(type).header('content-security-policy', CSP).header('cache-control', 'no-cache').send(body));
  }
}
