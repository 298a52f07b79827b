// ReportBuilder's onInterchangeDone: each interchange is handed over once nothing more can come to it,
// then only its envelope and validity are kept (waybill ack's memory follows one interchange).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ReportBuilder } from '../../../src/translators/x12/inspect.js';
import type { InterchangeReport } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';

const text = readFileSync(new URL('../../../fixtures/edi/214/004010/ltl-multi-status.edi', import.meta.url), 'latin1');
const bad = readFileSync(new URL('../../../fixtures/edi/envelope/se-count-wrong.edi', import.meta.url), 'latin1');

function run(input: string): { done: { control: string; groups: number; sets: number }[]; report: ReturnType<ReportBuilder['finish']> } {
  const done: { control: string; groups: number; sets: number }[] = [];
  const builder = new ReportBuilder({
    onInterchangeDone: (ic: InterchangeReport) => done.push({ control: ic.header.control, groups: ic.groups.length, sets: ic.groups.reduce((n, g) => n + g.transactions.length, 0) }),
  });
  for (const ev of readX12Sync(input)) builder.accept(ev);
  return { done, report: builder.finish() };
}

describe('ReportBuilder onInterchangeDone', () => {
  it('hands over each interchange whole, in order, then keeps no groups of it', () => {
    const { done, report } = run(text + text.replaceAll('000002291', '000002292'));
    expect(done).toEqual([{ control: '000002291', groups: 1, sets: 1 }, { control: '000002292', groups: 1, sets: 1 }]);
    expect(report.interchanges.map((ic) => ic.groups.length)).toEqual([0, 0]);
    expect(report.valid).toBe(true);
  });

  it('the file stays invalid when an interchange already let go was invalid', () => {
    const { report } = run(bad + text);
    expect(report.interchanges.every((ic) => ic.groups.length === 0)).toBe(true);
    expect(report.valid).toBe(false);
  });

  it('data after an IEA is read before its interchange is handed over (it may decide its TA1)', () => {
    const order: string[] = [];
    const builder = new ReportBuilder({ onInterchangeDone: () => order.push('done') });
    for (const ev of readX12Sync(`${text}NOT X12~\n`)) {
      if (ev.type === 'issue') order.push('issue');
      builder.accept(ev);
    }
    builder.finish();
    expect(order).toEqual(['issue', 'done']);
  });
});
