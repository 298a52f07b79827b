// Control numbers (ISA13/GS06/ST02) under concurrent writers and crashes: several processes allocate
// from one SQLite ledger at once, some are killed with SIGKILL at random moments. Every number a process
// printed (it prints only after nextControlNumbers returned, i.e. after the commit) must be unique, and
// the ledger must go on above all of them. Gaps are allowed (a kill between commit and print); reuse is not.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import type { ControlKind } from '../../src/ledger/ledger.js';

const SCRIPT = fileURLToPath(new URL('./allocate-control.ts', import.meta.url));
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Seeded, so a failure can be replayed with the seed in its message. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

interface Child {
  proc: ChildProcess;
  out: string;
  stderr: string;
  lines: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(db: string, partner: string, rounds: number, seed: number, onLine: (c: Child) => void): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT, db, partner, String(rounds), String(seed), 'barrier'], {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  proc.stdin!.on('error', () => {}); // a child killed before the barrier
  const child: Child = {
    proc, out: '', stderr: '', lines: 0,
    exit: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    child.out += d;
    child.lines += d.split('\n').length - 1;
    onLine(child);
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { child.stderr += d; });
  return child;
}

/** Complete lines only: a line without its newline was being written when the process died. */
function allocations(out: string): Array<{ kind: ControlKind; numbers: number[] }> {
  const complete = out.slice(0, out.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((l) => l && l !== 'OPENING' && l !== 'READY' && l !== 'DONE').map((l) => {
    const [kind, list] = l.split(' ');
    return { kind: kind as ControlKind, numbers: list.split(',').map(Number) };
  });
}

async function run(opts: { processes: number; kills: number; rounds: number; seed: number; precreate: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'wb-control-'));
  dirs.push(dir);
  const db = join(dir, 'ledger.db');
  if (opts.precreate) await new SqliteLedger(db).close();
  const random = prng(opts.seed);
  const partner = 'acme-freight';
  // Which children die, and after how many printed lines (plus a random extra moment, so the kill lands
  // anywhere: inside a transaction, between commit and print, between allocations).
  const killAfter = new Map<number, number>();
  const order = Array.from({ length: opts.processes }, (_, i) => i).sort(() => random() - 0.5);
  for (const i of order.slice(0, opts.kills)) killAfter.set(i, Math.floor(random() * opts.rounds * 0.8));
  const extraDelay = Array.from({ length: opts.processes }, () => Math.floor(random() * 15));
  const children: Child[] = [];
  const released = new Set<number>();
  const release = (index: number) => {
    if (released.has(index)) return;
    released.add(index);
    if (released.size === opts.processes) for (const other of children) other.proc.stdin!.end('GO\n');
  };
  for (let i = 0; i < opts.processes; i++) {
    const index = i;
    let armed = false;
    children.push(startChild(db, partner, opts.rounds, opts.seed * 31 + i, (c) => {
      const limit = killAfter.get(index);
      // READY: the ledger is open. Once all are, they all start allocating at the same moment.
      if (c.lines >= 2) release(index);
      if (limit === undefined || armed || c.lines < limit + 2) return; // +2: the OPENING and READY lines
      armed = true;
      setTimeout(() => c.proc.kill('SIGKILL'), extraDelay[index]);
    }));
  }
  // A child that dies before READY (the ledger would not open) must not hold the others at the barrier:
  // they go on, and check() reports its exit and stderr instead of the test timing out.
  children.forEach((c, i) => void c.exit.then(() => release(i)));
  const exits = await Promise.all(children.map((c) => c.exit));
  return { db, partner, children, exits, killAfter };
}

async function check(opts: { processes: number; kills: number; rounds: number; seed: number; precreate: boolean }) {
  const { db, partner, children, exits, killAfter } = await run(opts);
  const context = `seed ${opts.seed}`;
  // The ones not chosen for a kill finished normally; a chosen one may have finished before its kill.
  exits.forEach((e, i) => {
    if (!killAfter.has(i)) expect(e, `${context}: child ${i} ${children[i].stderr}`).toEqual({ code: 0, signal: null });
    else expect(e.code === 0 || e.signal === 'SIGKILL', `${context}: child ${i} ${JSON.stringify(e)} ${children[i].stderr}`).toBe(true);
  });
  expect(exits.some((e) => e.signal === 'SIGKILL'), `${context}: no child was killed`).toBe(true);

  const byKind = new Map<ControlKind, number[]>();
  const owner = new Map<string, number>();
  children.forEach((c, i) => {
    for (const a of allocations(c.out)) {
      // Each allocation is consecutive.
      a.numbers.forEach((n, j) => expect(n).toBe(a.numbers[0] + j));
      byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), ...a.numbers]);
      for (const n of a.numbers) owner.set(`${a.kind} ${n}`, i);
    }
  });
  // The processes really allocated at the same time: walking the numbers in order, the allocating
  // process changes more often than a one-after-the-other run could give (participants - 1 at most).
  const interchange = [...(byKind.get('interchange') ?? [])].sort((a, b) => a - b);
  let switches = 0;
  for (let k = 1; k < interchange.length; k++) if (owner.get(`interchange ${interchange[k]}`) !== owner.get(`interchange ${interchange[k - 1]}`)) switches++;
  const participants = new Set(interchange.map((n) => owner.get(`interchange ${n}`))).size;
  expect(switches, `${context}: allocations did not interleave (${switches} switches, ${participants} processes)`).toBeGreaterThan(participants * 2);
  // Killed processes died mid-run (fewer allocations than rounds).
  expect(children.some((c, i) => killAfter.has(i) && exits[i].signal === 'SIGKILL' && allocations(c.out).length < opts.rounds), context).toBe(true);
  const ledger = new SqliteLedger(db);
  try {
    for (const kind of ['interchange', 'transaction'] as ControlKind[]) {
      const printed = byKind.get(kind) ?? [];
      expect(printed.length, `${context}: nothing allocated for ${kind}`).toBeGreaterThan(0);
      expect(printed.every((n) => Number.isInteger(n) && n >= 1), context).toBe(true);
      // Unique across every process, the killed ones included.
      expect(new Set(printed).size, `${context}: ${kind} numbers reused`).toBe(printed.length);
      // The ledger never hands out one of them again: its next number is above all of them.
      const [next] = await ledger.nextControlNumbers(partner, kind);
      expect(next, `${context}: ${kind}`).toBeGreaterThan(Math.max(...printed));
    }
    // Untouched kinds and partners start at 1.
    expect(await ledger.nextControlNumbers(partner, 'group')).toEqual([1]);
    expect(await ledger.nextControlNumbers('other-partner', 'interchange')).toEqual([1]);
  } finally {
    await ledger.close();
  }
}

describe('control numbers: concurrent processes, random SIGKILLs', () => {
  const base = Number(process.env.WAYBILL_TEST_SEED ?? Date.now() % 100_000);

  it('never reuses a number (an existing ledger, 6 processes, 3 killed), twice with different seeds', async () => {
    await check({ processes: 6, kills: 3, rounds: 250, seed: base, precreate: true });
    await check({ processes: 6, kills: 3, rounds: 250, seed: base + 1, precreate: true });
  }, 120_000);

  it('never reuses a number when the processes also create the ledger (fresh data directory) at once', async () => {
    await check({ processes: 5, kills: 2, rounds: 150, seed: base + 2, precreate: false });
  }, 120_000);
});
