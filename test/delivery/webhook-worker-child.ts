// A gateway's webhook worker alone, in a process of its own, for tests that kill it mid-attempt (kill -9).
// argv: receiver URL, data dir (ledger.db), BullMQ prefix, attempts. Short lock and stalled-check interval,
// so that a job it leaves behind is taken up again within about a second.
import { join } from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { startWebhookDelivery } from '../../src/delivery/webhook.js';

const [url, dir, prefix, attempts] = process.argv.slice(2);
const ledger = new SqliteLedger(join(dir, 'ledger.db'));
startWebhookDelivery({
  url, secret: 'test-shared-secret', ledger, connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, prefix,
  attempts: Number(attempts), timeoutMs: 60_000, lockDurationMs: 1000, stalledIntervalMs: 500,
});
process.stdout.write('ready\n');
