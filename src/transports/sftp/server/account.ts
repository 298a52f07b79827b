// An account as the server uses it: the validated config compiled once (public keys parsed, allow-list
// built, globs turned into matchers). Compiled forms are cached per config object, so a partner reload
// (which yields new objects) is picked up on the next login without a restart.
import { BlockList, isIPv4 } from 'node:net';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { parseAddressRange, type ParsedAccount } from '../config.js';
import { compileGlobs, type NameMatcher } from '../glob.js';

/** What the gateway's `accounts()` callback returns per username. */
export interface AccountEntry {
  partner: string;
  account: ParsedAccount;
}

export interface CompiledAccount {
  partner: string;
  username: string;
  config: ParsedAccount;
  keys: ParsedKey[];
  /** Null: any address may log in. */
  allowList: BlockList | null;
  isTemporary: NameMatcher;
  /** A complete upload's final name (pattern mode: must match; rename mode: any non-temporary name, or the pattern when given). */
  isFinal: NameMatcher;
}

const cache = new WeakMap<ParsedAccount, Map<string, CompiledAccount>>();

export function compileAccount(entry: AccountEntry): CompiledAccount {
  let byPartner = cache.get(entry.account);
  const hit = byPartner?.get(entry.partner);
  if (hit) return hit;
  const a = entry.account;
  const keys: ParsedKey[] = [];
  for (const line of a.publicKeys) {
    const k = ssh2.utils.parseKey(line);
    const key = Array.isArray(k) ? k[0] : k;
    if (key && !(key instanceof Error)) keys.push(key);
  }
  let allowList: BlockList | null = null;
  if (a.allowFrom) {
    allowList = new BlockList();
    for (const entryText of a.allowFrom) {
      const r = parseAddressRange(entryText);
      if (r) allowList.addSubnet(r.address, r.prefix, r.family);
    }
  }
  const isTemporary = compileGlobs(a.tempPattern);
  const pattern = a.completion.pattern ? compileGlobs(a.completion.pattern) : null;
  const compiled: CompiledAccount = {
    partner: entry.partner, username: a.username, config: a, keys, allowList, isTemporary,
    isFinal: (name) => !isTemporary(name) && (pattern ? pattern(name) : a.completion.mode === 'rename'),
  };
  if (!byPartner) cache.set(a, (byPartner = new Map()));
  byPartner.set(entry.partner, compiled);
  return compiled;
}

/** Whether `ip` (as the socket reports it, IPv4-mapped IPv6 included) may log in to the account. */
export function addressAllowed(account: CompiledAccount, ip: string): boolean {
  if (!account.allowList) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1] : ip;
  return account.allowList.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
}
