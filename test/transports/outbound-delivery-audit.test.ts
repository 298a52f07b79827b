// Outbound delivery under failure, against a real OpenSSH sshd (and a real tmpfs for "server full"):
// crashes between the rename note and the rename, failed re-uploads, backlogs, name collisions.
// Needs root, /usr/sbin/sshd and mount (tmpfs); skipped otherwise. No timing assertions: backoff runs on
// a clock the test moves.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { OutboundDelivery } from '../../src/transports/delivery/outbound-delivery.js';
import { parseRemoteSftp, type RemoteSftpInput } from '../../src/transports/sftp/remote/config.js';
import { captureLog } from '../helpers/log.js';
import { TestSshd } from '../helpers/sshd.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh-keygen');
if (!canRun) console.warn('outbound delivery audit tests skipped: they need root and OpenSSH');

describe.skipIf(!canRun)('outbound delivery (outbound-audit) against OpenSSH', () => {
  let sshd: TestSshd;
  let work: string;
  let n = 0;
  const ledgers: SqliteLedger[] = [];
  const mounts: string[] = [];

  beforeAll(async () => {
    sshd = await TestSshd.start('waybill-outbound-audit-');
    work = mkdtempSync(join(tmpdir(), 'wb-outbound-audit-'));
  });

  afterAll(async () => {
    for (const m of mounts) { try { execFileSync('umount', [m]); } catch { /* already */ } }
    for (const l of ledgers) await l.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function area() {
    const id = `t${++n}`;
    const local = join(work, id);
    mkdirSync(local, { recursive: true });
    const ledger = new SqliteLedger(join(local, 'ledger.db'));
    ledgers.push(ledger);
    return { id, local, ledger, dataDir: join(local, 'data'), outbox: sshd.dir(`/${id}/outbox`) };
  }

  function remoteRaw(over: Partial<RemoteSftpInput> = {}): RemoteSftpInput {
    return {
      host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: { path: sshd.clientKey }, hostKey: sshd.hostKey,
      retry: { baseSeconds: 1, maxSeconds: 1 }, ...over,
    };
  }

  /** A clock the test moves: each pass is past every backoff of the pass before. */
  function clock() {
    let t = Date.parse('2026-01-01T00:00:00Z');
    return { now: () => t, advance: () => { t += 3_600_000; } };
  }

  /** A small tmpfs over a folder in the chroot: the partner's disk, full for anything bigger. */
  function mountSmall(local: string, size = '64k'): () => void {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', local]);
    mounts.push(local);
    return () => { execFileSync('umount', [local]); mounts.splice(mounts.indexOf(local), 1); };
  }

  it('a push to a full server fails with DELIVERY_UPLOAD_FAILED and never renames the truncated file into place', async () => {
    const a = area();
    const c = clock();
    const transports = { remote: remoteRaw({ outbound: { dir: a.outbox.remote } }) };
    const content = `ISA*${'y'.repeat(200 * 1024)}~`;
    await a.ledger.addOutboundDocument({ id: 'ack-full', partner: 'acme', kind: '997', content, controls: { interchange: '8' } });
    const unmount = mountSmall(a.outbox.local);
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => transports, now: c.now });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    // Nothing under the final name, and the temp file removed (the connection was fine).
    expect(readdirSync(a.outbox.local)).toEqual([]);
    const [doc] = await a.ledger.listOutboundDocuments();
    expect(doc).toMatchObject({ state: 'pending', attempts: 1 });
    expect(doc.lastError).toMatch(/^DELIVERY_UPLOAD_FAILED: cannot write .*997_8_ack-full\.edi\.part/);
    expect(await a.ledger.getOutboundTransfer('ack-full')).toBeNull();

    unmount();
    c.advance();
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1 });
    expect(readdirSync(a.outbox.local)).toEqual(['997_8_ack-full.edi']);
    expect(readFileSync(join(a.outbox.local, '997_8_ack-full.edi'), 'utf8')).toBe(content);
  });

  it('a rename note left by a crash is not taken as "delivered" once a failed re-upload removed its temp file', async () => {
    const a = area();
    const c = clock();
    const transports = { remote: remoteRaw({ outbound: { dir: a.outbox.remote, fileName: '{kind}_{control}_{id}.edi' } }) };
    const content = `ISA*${'x'.repeat(200 * 1024)}~`;
    await a.ledger.addOutboundDocument({ id: 'ack-1', partner: 'acme', kind: '997', content, controls: { interchange: '7' } });
    // What a gateway killed between its rename note and the rename leaves: the note, and the whole temp file.
    const target = `${a.outbox.remote}/997_7_ack-1.edi`;
    await a.ledger.setOutboundTransfer('ack-1', { transport: 'remote', target, temp: `${target}.part` });
    const unmount = mountSmall(a.outbox.local);
    writeFileSync(join(a.outbox.local, '997_7_ack-1.edi.part'), 'the first part of the upload');
    const log = captureLog();
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => transports, now: c.now, log });

    // The partner's disk is full: the re-upload fails (and removes its temp file, the connection being fine).
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    c.advance();
    // Nothing is at the partner: the next pass must not call the document delivered.
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    expect(existsSync(join(a.outbox.local, '997_7_ack-1.edi'))).toBe(false);
    expect((await a.ledger.listOutboundDocuments())[0]).toMatchObject({ state: 'pending', attempts: 2 });

    unmount(); // space again
    c.advance();
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    expect(readdirSync(a.outbox.local)).toEqual(['997_7_ack-1.edi']);
    expect(readFileSync(join(a.outbox.local, '997_7_ack-1.edi'), 'utf8')).toBe(content);
    expect(log.entries.filter((e) => e.msg === 'outbound document delivered').map((e) => e.obj.how)).toEqual(['placed']);
  });

  it("one partner's backlog of undeliverable documents does not keep another partner's documents from going out", async () => {
    const a = area();
    const c = clock();
    // Port 1 on loopback: refused at once, as a partner server that is down.
    const transports: Record<string, Record<string, unknown>> = {
      down: { remote: remoteRaw({ port: 1, outbound: { dir: '/in' } }) },
      up: { remote: remoteRaw({ outbound: { dir: a.outbox.remote } }) },
    };
    for (let i = 0; i < 6; i++) {
      await a.ledger.addOutboundDocument({ id: `a-down-${i}`, partner: 'down', kind: '997', content: `down ${i}`, controls: { interchange: String(i) } });
    }
    await a.ledger.addOutboundDocument({ id: 'z-up', partner: 'up', kind: '997', content: 'up', controls: { interchange: '1' } });
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: (p) => transports[p], now: c.now, batchSize: 4 });
    for (let pass = 0; pass < 3; pass++, c.advance()) await delivery.runOnce();
    expect(readdirSync(a.outbox.local)).toEqual(['997_1_z-up.edi']);
    const docs = Object.fromEntries((await a.ledger.listOutboundDocuments()).map((d) => [d.id, d]));
    expect(docs['z-up']).toMatchObject({ state: 'delivered' });
    expect(docs['a-down-0']).toMatchObject({ state: 'pending' });
    expect(docs['a-down-0'].lastError).toMatch(/^SFTP_REMOTE_CONNECT_FAILED: /);
    // What an operator sees in /metrics: how many wait, and why.
    const metrics = new GatewayMetrics();
    metrics.fromLedger(await a.ledger.stats());
    const text = await metrics.registry.metrics();
    expect(text).toContain('waybill_outbound_documents{state="pending"} 6');
    expect(text).toContain('waybill_outbound_documents{state="delivered"} 1');
    // (4: a page per partner and pass is batchSize; the two after it were not tried yet.)
    expect(text).toContain('waybill_outbound_failing{code="SFTP_REMOTE_CONNECT_FAILED"} 4');
  });

  it('a connection dropped mid-upload leaves only the temp name; the next pass delivers the whole file once', async () => {
    // The SFTP side in its own process, so the test can freeze it part-way and then drop the connection.
    const ext = await TestSshd.start('waybill-outbound-audit-drop-', { externalSftpServer: true });
    try {
      const a = area();
      const outbox = ext.dir(join(ext.base, 'drop-outbox'));
      const c = clock();
      const transports = { remote: remoteRaw({ port: ext.port, hostKey: ext.hostKey, privateKey: { path: ext.clientKey }, outbound: { dir: outbox.remote } }) };
      const content = randomBytes(6 * 1024 * 1024).toString('base64');
      await a.ledger.addOutboundDocument({ id: 'ack-big', partner: 'acme', kind: '997', content, controls: { interchange: '9' } });
      const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => transports, now: c.now });
      const temp = join(outbox.local, '997_9_ack-big.edi.part');
      let frozenAt = -1;
      const pass = delivery.runOnce();
      for (let i = 0; i < 1_000_000 && frozenAt < 0; i++) {
        const size = existsSync(temp) ? statSync(temp).size : 0;
        if (size > 0) {
          for (const pid of ext.sftpServerPids()) process.kill(pid, 'SIGSTOP');
          frozenAt = statSync(temp).size;
          ext.dropConnections();
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const first = await pass;
      // However far it got: never a partial file under the final name.
      if (first.delivered === 0) {
        expect(existsSync(join(outbox.local, '997_9_ack-big.edi'))).toBe(false);
        const [doc] = await a.ledger.listOutboundDocuments();
        expect(doc).toMatchObject({ state: 'pending', attempts: 1 });
        expect(doc.lastError).toMatch(/^DELIVERY_CONNECTION_LOST: /);
      }
      c.advance();
      await delivery.runOnce();
      expect(readdirSync(outbox.local)).toEqual(['997_9_ack-big.edi']);
      expect(readFileSync(join(outbox.local, '997_9_ack-big.edi'), 'utf8') === content).toBe(true);
      expect((await a.ledger.listOutboundDocuments())[0]).toMatchObject({ state: 'delivered' });
      console.log(`outbound-audit: dropped at ${frozenAt} of ${content.length} bytes; first pass ${JSON.stringify(first)}`);
    } finally {
      await ext.stop();
    }
  });

  it('an upload the server refuses (permission denied) is DELIVERY_UPLOAD_FAILED for that document only', async () => {
    const nobody = await TestSshd.start('waybill-outbound-audit-nobody-', { user: 'nobody' });
    try {
      const a = area();
      const c = clock();
      const locked = nobody.dir(`/${a.id}/locked`); // root's, 0755: nobody may not create files in it
      const transports = { remote: remoteRaw({ port: nobody.port, username: 'nobody', hostKey: nobody.hostKey, privateKey: { path: nobody.clientKey }, outbound: { dir: locked.remote } }) };
      await a.ledger.addOutboundDocument({ id: 'ack-p', partner: 'acme', kind: '997', content: 'x', controls: { interchange: '3' } });
      const log = captureLog();
      const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => transports, now: c.now, log });
      expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
      const [doc] = await a.ledger.listOutboundDocuments();
      expect(doc.lastError).toMatch(/^DELIVERY_UPLOAD_FAILED: cannot create .*: Permission denied/);
      expect(readdirSync(locked.local)).toEqual([]);
      expect(log.entries.filter((e) => e.level === 'warn' && e.obj.code === 'DELIVERY_UPLOAD_FAILED')).toHaveLength(1);
    } finally {
      await nobody.stop();
    }
  });

  it('a rename note made on one server is not taken as proof of delivery once the partner moved to another', async () => {
    const moved = await TestSshd.start('waybill-outbound-audit-moved-');
    try {
      const a = area();
      const c = clock();
      const oldOutbox = a.outbox;
      // Pass 1 against the old server is killed between its rename note and the rename.
      const before = { remote: remoteRaw({ outbound: { dir: oldOutbox.remote } }) };
      await a.ledger.addOutboundDocument({ id: 'ack-m', partner: 'acme', kind: '997', content: 'moved ack', controls: { interchange: '4' } });
      const crashing = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => before, now: c.now });
      // The hook seam: make the rename itself fail by crashing right after the note (the note is written by then).
      const real = a.ledger.setOutboundTransfer.bind(a.ledger);
      a.ledger.setOutboundTransfer = async (id, t) => { await real(id, t); if (t) throw new Error('simulated crash before the rename'); };
      await crashing.runOnce();
      a.ledger.setOutboundTransfer = real;
      expect(readdirSync(oldOutbox.local)).toEqual(['997_4_ack-m.edi.part']);
      expect(await a.ledger.getOutboundTransfer('ack-m')).not.toBeNull();

      // The partner moves to another server (same paths there) before the gateway runs again.
      const newOutbox = moved.dir(oldOutbox.remote);
      const after = { remote: remoteRaw({ port: moved.port, hostKey: moved.hostKey, privateKey: { path: moved.clientKey }, outbound: { dir: newOutbox.remote } }) };
      c.advance();
      const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => after, now: c.now });
      expect(await delivery.runOnce()).toMatchObject({ delivered: 1 });
      expect(readdirSync(newOutbox.local)).toEqual(['997_4_ack-m.edi']);
      expect(readFileSync(join(newOutbox.local, '997_4_ack-m.edi'), 'utf8')).toBe('moved ack');
    } finally {
      await moved.stop();
    }
  });

  it('hosted: a write that fails (disk full) leaves no partial temp file behind in the partner\'s outbound folder', async () => {
    const a = area();
    const c = clock();
    const dir = join(a.dataDir, 'sftp', 'hosted-co', 'outbound');
    mkdirSync(dir, { recursive: true });
    const unmount = mountSmall(dir);
    await a.ledger.addOutboundDocument({ id: 'ack-hf', partner: 'hosted-co', kind: '997', content: 'z'.repeat(200 * 1024), controls: { interchange: '2' } });
    const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: () => ({ sftp: {} }), now: c.now });
    expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    expect(readdirSync(dir)).toEqual([]);
    const [doc] = await a.ledger.listOutboundDocuments();
    expect(doc.lastError).toMatch(/^DELIVERY_FAILED: .*ENOSPC/);
    unmount();
    c.advance();
    expect(await delivery.runOnce()).toMatchObject({ delivered: 1 });
    expect(readdirSync(dir)).toEqual(['997_2_ack-hf.edi']);
  });
  it('a server that allows uploads but refuses renames: DELIVERY_RENAME_FAILED, nothing left under either name', async () => {
    const norename = await TestSshd.start('waybill-outbound-audit-norename-', { sftpArgs: ['-P', 'rename,posix-rename'] });
    try {
      const a = area();
      const c = clock();
      for (const onExists of ['fail', 'overwrite'] as const) {
        const outbox = norename.dir(`/${a.id}/${onExists}`);
        const transports = { remote: remoteRaw({ port: norename.port, hostKey: norename.hostKey, privateKey: { path: norename.clientKey }, outbound: { dir: outbox.remote, onExists } }) };
        await a.ledger.addOutboundDocument({ id: `ack-${onExists}`, partner: onExists, kind: '997', content: 'x', controls: { interchange: '6' } });
        const delivery = new OutboundDelivery({ ledger: a.ledger, dataDir: a.dataDir, partnerTransports: (p) => (p === onExists ? transports : undefined), now: c.now });
        expect(await delivery.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
        const doc = (await a.ledger.listOutboundDocuments({ partner: onExists }))[0];
        expect(doc.lastError, onExists).toMatch(/^DELIVERY_RENAME_FAILED: /);
        expect(readdirSync(outbox.local), onExists).toEqual([]);
        expect(await a.ledger.getOutboundTransfer(doc.id)).toBeNull();
      }
    } finally {
      await norename.stop();
    }
  });
});

describe('outbound names stay in the configured folder (outbound-audit)', () => {
  const base = { host: 'h', username: 'u', privateKey: { env: 'K' }, hostKey: `SHA256:${'A'.repeat(43)}` };
  it('refuses a temp suffix or a file name pattern with a path separator', () => {
    for (const outbound of [{ dir: '/in', tempSuffix: '/../../etc/x' }, { dir: '/in', tempSuffix: '.part\\..\\x' }, { dir: '/in', fileName: '..\\{id}.edi' }]) {
      const r = parseRemoteSftp({ ...base, outbound });
      expect(r.config, JSON.stringify(outbound)).toBeNull();
      expect(r.problems.join('\n')).toMatch(/may not contain \/ or \\/);
    }
    expect(parseRemoteSftp({ ...base, outbound: { dir: '/in', tempSuffix: '.tmp', fileName: '{kind}-{id}.x12' } }).config).not.toBeNull();
  });

  it('refuses an outbound dir that is also polled (our documents would come back in as the partner\'s)', () => {
    const r = parseRemoteSftp({ ...base, poll: [{ dir: '/exchange', pattern: '*.edi' }], outbound: { dir: '/exchange/' } });
    expect(r.config).toBeNull();
    expect(r.problems).toEqual(['transports.remote.outbound.dir: outbound.dir is polled with pattern *.edi, which matches the names pushed there (the documents would be taken in again)']);
    expect(parseRemoteSftp({ ...base, poll: [{ dir: '/exchange' }], outbound: { dir: '/exchange', fileName: '{kind}_{id}.x12' } }).config).toBeNull();
    // Another folder, or a shared one whose poll pattern leaves our names alone: fine.
    expect(parseRemoteSftp({ ...base, poll: [{ dir: '/exchange/out' }], outbound: { dir: '/exchange/in' } }).config).not.toBeNull();
    expect(parseRemoteSftp({ ...base, poll: [{ dir: '/exchange', pattern: '*.214' }], outbound: { dir: '/exchange' } }).config).not.toBeNull();
  });
});
