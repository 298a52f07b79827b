// /metrics as the gateway fills it (GatewayMetrics.fromLedger(ledger.stats())), over files the inbound
// pipeline really processed, without Redis: the by-code error gauge must name why each failed file failed.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PartnerRegistry } from '../../src/mappings/registry.js';
import { silentLogger, type PipelineContext } from '../../src/pipeline/context.js';
import { intake } from '../../src/pipeline/intake.js';
import { processFile } from '../../src/pipeline/process-file.js';

const partners = new URL('../../partners/', import.meta.url);
const { registry } = PartnerRegistry.load(partners.pathname);
const sample = (rel: string) => readFileSync(new URL(rel, partners));

describe('waybill_errors', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wb-metrics-'));
  const ledger = new SqliteLedger(join(dataDir, 'ledger.db'));
  const ctx: PipelineContext = { dataDir, ledger, registry: () => registry, log: silentLogger, duplicates: { windowDays: 30, interchange: 'ignore' }, batchSize: 500 };
  const take = async (input: Buffer, originalName: string, partner?: string) => {
    const r = await intake(ctx, { input, transport: 'test', originalName, partner });
    return processFile(ctx, r.fileId);
  };

  afterAll(async () => {
    await ledger.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts the codes of files that failed as a whole, once each, beside the errors of units', async () => {
    // A CSV at the inbound root: PARTNER_UNKNOWN, on the file alone (no unit).
    expect((await take(sample('sangamon-valley/samples/svxp_status_20250513_1100.csv'), 'status.csv')).state).toBe('failed');
    // A zip archive: PIPELINE_NOT_TEXT, a unit of its own ('file') and the file's error: one finding.
    expect((await take(Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00rest of an archive', 'latin1'), 'status.zip', 'sangamon-valley')).state).toBe('failed');
    // Granite Ridge's 214 through Prairie Line's folder: PARTNER_ACCOUNT_MISMATCH on its one set and on the file: one finding.
    expect((await take(sample('granite-ridge/samples/214-delivered-BPL-88104301.edi'), '214.edi', 'prairie-line')).state).toBe('failed');
    // A translated file with one failing record (a status code the partner's table does not map): a unit
    // error. Other bytes than the CSV above, which would otherwise be re-opened and translated.
    const csv = Buffer.concat([sample('sangamon-valley/samples/svxp_status_20250513_1100.csv'), Buffer.from('\n')]);
    expect((await take(csv, 'svxp_status_20250513_1100.csv', 'sangamon-valley')).state).toBe('translated');

    const metrics = new GatewayMetrics();
    metrics.fromLedger(await ledger.stats());
    const text = await metrics.registry.metrics();
    const gauge = (name: string) => Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{\\w+="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [m[1], Number(m[2])]));
    expect(gauge('waybill_files')).toEqual({ failed: 3, translated: 1 });
    expect(gauge('waybill_errors')).toEqual({ PARTNER_UNKNOWN: 1, PIPELINE_NOT_TEXT: 1, PARTNER_ACCOUNT_MISMATCH: 1, MAP_UNMAPPED_CODE: 1 });
    expect(text).toMatch(/^# HELP waybill_errors .*file/m);
  });
});
