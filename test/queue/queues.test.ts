// Job ids, reconnect policy, fault classification and the Redis probe (no Redis needed).
import { describe, expect, it } from 'vitest';
import { eventId } from '../../src/canonical/ids.js';
import { isTransientFault } from '../../src/queue/dispatcher.js';
import { assertJobId, createConnection, eventJobId, fileJobId, reconnectDelay, redisStatus, redisUrlFrom } from '../../src/queue/queues.js';
import { freePort } from './support.js';

describe('job ids', () => {
  it('accept file ids and event ids as they are', () => {
    const fileId = `sha256-${'ab'.repeat(32)}`;
    expect(fileJobId(fileId)).toBe(fileId);
    const ev = eventId(['x12', 'prairie-line', '000000001', '1', '0001', '0']);
    expect(eventJobId(ev)).toBe(ev);
  });

  it("reject ids BullMQ cannot take: ':' inside, all digits, empty", () => {
    expect(() => assertJobId('evt:1')).toThrow(/contains ':'/);
    expect(() => assertJobId('000123')).toThrow(/all digits/);
    expect(() => assertJobId('')).toThrow(/non-empty/);
    expect(assertJobId('12a')).toBe('12a');
  });
});

describe('connections', () => {
  it('reconnect forever, quickly at first and at most every 5 s', () => {
    for (let attempt = 1; attempt < 200; attempt++) {
      const d = reconnectDelay(attempt);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThanOrEqual(5000);
    }
    expect(reconnectDelay(1)).toBeLessThanOrEqual(100);
  });

  it('take REDIS_URL over the configured URL', () => {
    expect(redisUrlFrom('redis://cfg:1', { REDIS_URL: 'redis://env:2' })).toBe('redis://env:2');
    expect(redisUrlFrom('redis://cfg:1', {})).toBe('redis://cfg:1');
    expect(redisUrlFrom(undefined, {})).toBe('redis://127.0.0.1:6379');
  });

  it('report an unreachable Redis without throwing or hanging', async () => {
    const connection = createConnection(`redis://127.0.0.1:${await freePort()}`);
    try {
      const probe = await redisStatus(connection, 500);
      expect(probe.ok).toBe(false);
    } finally {
      connection.disconnect();
    }
  });
});

describe('fault classification', () => {
  const fault = (code: string) => Object.assign(new Error(code), { code });
  it('retries what can heal and nothing else', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'ENOSPC', 'EMFILE', 'EIO']) {
      expect(isTransientFault(fault(code)), code).toBe(true);
    }
    for (const err of [fault('ENOENT'), fault('SQLITE_CONSTRAINT'), new TypeError('x is undefined'), null, 'text']) {
      expect(isTransientFault(err)).toBe(false);
    }
  });
});
