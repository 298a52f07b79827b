// SSH user authentication for hosted accounts. Public keys are matched against the account's list and
// the signature is verified (ssh2 leaves that to us: a client that only asks "would this key do?"
// sends no signature, and gets PK_OK; a login carries one, which must verify over the session blob).
// Passwords are checked only for accounts with a stored hash. Source addresses are checked against the
// account's allow-list before anything else. Rejections never say which part failed.
import { timingSafeEqual } from 'node:crypto';
import type { AuthContext, AuthenticationType } from 'ssh2';
import type { Logger } from '../../../pipeline/context.js';
import { verifyPassword } from '../password.js';
import { addressAllowed, compileAccount, type AccountEntry, type CompiledAccount } from './account.js';

/** Checked when a user has no password, so a wrong user and a wrong password take about as long. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export interface AuthOptions {
  accounts: () => Map<string, AccountEntry>;
  maxAuthTries: number;
  log: Logger;
  /** Shared by every connection: password failures per source address. */
  throttle: PasswordThrottle;
}

/**
 * Password guessing across connections. maxAuthTries only ends one connection, and a new one costs
 * nothing, so failed passwords (and bad signatures) are counted per source address: once an address has
 * `max` of them, each within `windowMs` of the one before, its password attempts are refused unchecked
 * until `windowMs` has passed without one. Key logins from the address still work (a partner behind the
 * same NAT is not locked out), and offering an unlisted key is not counted (clients offer every key
 * they hold, and a key cannot be guessed).
 */
export class PasswordThrottle {
  private readonly byAddress = new Map<string, { count: number; last: number }>();

  constructor(private readonly max: number, private readonly windowMs: number) {}

  private entry(ip: string, now: number): { count: number; last: number } | undefined {
    const e = this.byAddress.get(ip);
    if (e && now - e.last > this.windowMs) {
      this.byAddress.delete(ip);
      return undefined;
    }
    return e;
  }

  blocked(ip: string): boolean {
    const e = this.entry(ip, Date.now());
    return this.max > 0 && !!e && e.count >= this.max;
  }

  /** Counts a failure; true when it is the one that starts the block. */
  fail(ip: string): boolean {
    if (this.max <= 0) return false;
    const now = Date.now();
    if (this.byAddress.size >= 10_000) for (const [k, v] of this.byAddress) if (now - v.last > this.windowMs) this.byAddress.delete(k);
    const e = this.entry(ip, now) ?? { count: 0, last: now };
    e.count++;
    e.last = now;
    this.byAddress.set(ip, e);
    return e.count === this.max;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One per connection: answers every auth request and tells the connection who logged in. */
export class ConnectionAuth {
  private failures = 0;
  /** The account that authenticated (set just before ctx.accept() on a real login). */
  account: CompiledAccount | null = null;
  /** What it logged in with, to tell later whether that still opens the account. */
  private credential: { kind: 'key'; key: Buffer } | { kind: 'password'; hash: string } | null = null;

  constructor(private readonly opts: AuthOptions, private readonly remoteIp: string, private readonly onTooManyFailures: () => void) {}

  private methodsFor(all: Map<string, AccountEntry>): AuthenticationType[] {
    // The same list for every username, existing or not, with a password or not: a list that followed
    // the account (publickey only for a key-only account, publickey+password for an unknown name) told
    // anyone who asked which usernames exist. A password tried on a key-only account fails like a wrong one.
    const password = [...all.values()].some((e) => !!e.account.password);
    return password ? ['publickey', 'password'] : ['publickey'];
  }

  /**
   * Whether the login still stands: the account is still there for the same partner, the key (or
   * password hash) it used is still listed and the address still allowed. Asked at every request, so
   * removing an account or revoking a leaked key also ends the sessions already logged in with it.
   */
  stillAllowed(): boolean {
    const logged = this.account;
    const cred = this.credential;
    if (!logged || !cred) return false;
    const entry = this.opts.accounts().get(logged.username);
    if (!entry || entry.partner !== logged.partner) return false;
    const now = compileAccount(entry);
    if (now === logged) return true; // the same config object: nothing changed since the login (the per-WRITE case)
    if (!addressAllowed(now, this.remoteIp)) return false;
    if (cred.kind === 'password') return now.config.password?.hash === cred.hash;
    return now.keys.some((k) => sameBytes(k.getPublicSSH(), cred.key));
  }

  private countAgainstAddress(): void {
    if (this.opts.throttle.fail(this.remoteIp)) {
      this.opts.log.warn({ code: 'SFTP_AUTH_BLOCKED', ip: this.remoteIp }, 'sftp: too many failed logins from this address; its password attempts are refused for a while');
    }
  }

  async handle(ctx: AuthContext): Promise<void> {
    const all = this.opts.accounts();
    const entry = all.get(ctx.username);
    const methods = this.methodsFor(all);
    const reject = (reason: string | null) => {
      if (reason !== null) {
        this.failures++;
        this.opts.log.warn({ code: 'SFTP_AUTH_FAILED', username: ctx.username, method: ctx.method, ip: this.remoteIp, reason }, 'sftp: authentication failed');
      }
      ctx.reject(methods);
      if (this.failures >= this.opts.maxAuthTries) this.onTooManyFailures();
    };
    // 'none' is how clients ask for the method list: not a failure.
    if (ctx.method === 'none') return reject(null);
    const account = entry ? compileAccount(entry) : null;
    if (account && !addressAllowed(account, this.remoteIp)) {
      this.opts.log.warn({ code: 'SFTP_ADDRESS_NOT_ALLOWED', username: ctx.username, ip: this.remoteIp }, 'sftp: login from an address outside the account allow-list');
      return reject('address not allowed');
    }
    switch (ctx.method) {
      case 'publickey': {
        const key = account?.keys.find((k) => k.type === ctx.key.algo && sameBytes(k.getPublicSSH(), ctx.key.data))
          // RSA keys are offered under rsa-sha2-* algorithm names while parsed as ssh-rsa.
          ?? account?.keys.find((k) => k.type === 'ssh-rsa' && /^rsa-sha2-/.test(ctx.key.algo) && sameBytes(k.getPublicSSH(), ctx.key.data));
        if (!account || !key) return reject('public key not listed for this account');
        if (!ctx.signature || !ctx.blob) return ctx.accept(); // a query: "would this key do?" -> PK_OK
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          this.countAgainstAddress();
          return reject('signature does not verify');
        }
        this.account = account;
        this.credential = { kind: 'key', key: Buffer.from(key.getPublicSSH()) };
        return ctx.accept();
      }
      case 'password': {
        if (this.opts.throttle.blocked(this.remoteIp)) {
          this.opts.throttle.fail(this.remoteIp); // keeps the block while the guessing goes on
          return reject('password attempts from this address are blocked after too many failures');
        }
        const hash = account?.config.password?.hash;
        const ok = await verifyPassword(ctx.password, hash ?? DUMMY_HASH);
        if (!account || !hash || !ok) {
          this.countAgainstAddress();
          return reject(hash ? 'wrong password' : 'password authentication is off for this account');
        }
        this.account = account;
        this.credential = { kind: 'password', hash };
        return ctx.accept();
      }
      default:
        return reject(`method ${ctx.method} not supported`);
    }
  }
}
