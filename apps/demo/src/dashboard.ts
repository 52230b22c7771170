import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

/** The dashboard at `GET /`: one page, its script and its styles, no build step. */
export function registerDashboard(fastify: FastifyInstance): void {
  // dashboard: four static files, read once
  const assets = new Map<string, { type: string; body: Buffer }>([
    ['/', { type: 'text/html; charset=utf-8', body: readFileSync(join(publicDir, 'index.html')) }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(publicDir, 'app.js')) }],
    [
      '/countdown.js',
      { type: 'text/javascript; charset=utf-8', body: readFileSync(join(publicDir, 'countdown.js')) },
    ],
    ['/style.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(publicDir, 'style.css')) }],
  ]);
  for (const [path, asset] of assets) {
    fastify.get(path, (_request, reply) =>
      reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body),
    );
  }
}
