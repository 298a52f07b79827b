// waybill.yaml `webhook.concurrency`: how many events are POSTed at once. Each slot waits up to timeoutMs for
// an answer, so an ERP endpoint that hangs held all four slots of the fixed default, and every other event
// waited behind them. The gateway passes the setting to its webhook worker: with 6, six requests are open at
// once. The ERP's endpoint is a local HTTP server (the one test double allowed).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/gateway/config.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { captureLog } from '../helpers/log.js';
import { REDIS_URL, cleanRedis, dropFile, repoRoot, tempDir, uniquePrefix, waitFor } from './support.js';

/** prairie-line's 214: six status events. */
const SAMPLE = join(repoRoot, 'partners/prairie-line/samples/214-multi-status.edi');

const dirs: string[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanRedis(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An endpoint that holds every request until released; counts the most open at once. */
async function holdingEndpoint() {
  const held: ServerResponse[] = [];
  let released = false;
  let open = 0;
  let most = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    open++;
    most = Math.max(most, open);
    res.on('close', () => { open--; });
    if (released) res.writeHead(200).end();
    else held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/events`,
    get open() { return open; },
    get most() { return most; },
    /** Answers the held requests, and every later one at once. */
    release() {
      released = true;
      for (const res of held.splice(0)) if (!res.writableEnded) res.writeHead(200).end();
    },
    close() { server.closeAllConnections(); server.close(); },
  };
}

describe('webhook.concurrency', () => {
  it('defaults to 4 and is checked at its line', () => {
    const base = { url: 'http://127.0.0.1:1/events', secret: '0123456789abcdef' };
    expect(configSchema.parse({ webhook: base }).webhook?.concurrency).toBe(4);
    expect(configSchema.safeParse({ webhook: { ...base, concurrency: 0 } }).success).toBe(false);
    expect(configSchema.safeParse({ webhook: { ...base, concurrency: 65 } }).success).toBe(false);
  });

  it('the gateway POSTs that many events at once to an endpoint that hangs (6, where the fixed 4 held the rest back)', async () => {
    const endpoint = await holdingEndpoint();
    const dir = tempDir('webhook-concurrency');
    dirs.push(dir);
    const prefix = uniquePrefix('webhook-concurrency');
    prefixes.push(prefix);
    const config = configSchema.parse({
      dataDir: join(dir, 'data'), partnersDir: join(repoRoot, 'partners'), redisUrl: REDIS_URL, queuePrefix: prefix,
      http: { port: 0 }, inbound: { folder: join(dir, 'inbound'), pollMs: 50 }, reloadMs: 0, log: { level: 'silent' },
      webhook: { url: endpoint.url, secret: '0123456789abcdef', attempts: 2, timeoutMs: 60_000, concurrency: 6 },
    });
    const gateway = await startGateway(config, captureLog());
    try {
      dropFile(join(dir, 'inbound', 'prairie-line'), 'status.edi', readFileSync(SAMPLE));
      await waitFor('six requests open at once', () => endpoint.open === 6, 30_000);
      expect(endpoint.most).toBe(6);
    } finally {
      endpoint.release();
      await gateway.stop();
      endpoint.close();
    }
  }, 60_000);
});
