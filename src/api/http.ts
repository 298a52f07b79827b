// The gateway's HTTP surface: health, readiness and metrics (ERP submissions, search and AS2 mount here later).
import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';

export interface ReadinessCheck {
  name: string;
  /** Resolves with details when ready; rejects (or returns ok:false) when not. */
  check: () => Promise<{ ok: boolean; detail?: unknown }>;
}

export async function startHttp(opts: {
  host: string; port: number; metrics: GatewayMetrics; checks: ReadinessCheck[]; beforeMetrics?: () => Promise<void>;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const results: Record<string, unknown> = {};
    let ready = true;
    for (const c of opts.checks) {
      try {
        const r = await c.check();
        results[c.name] = r;
        if (!r.ok) ready = false;
      } catch (err) {
        results[c.name] = { ok: false, detail: (err as Error).message };
        ready = false;
      }
    }
    return reply.code(ready ? 200 : 503).send({ ready, checks: results });
  });
  app.get('/metrics', async (_req, reply) => {
    await opts.beforeMetrics?.();
    return reply.header('content-type', opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { app, url };
}
