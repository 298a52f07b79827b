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
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One per connection: answers every auth request and tells the connection who logged in. */
export class ConnectionAuth {
  private failures = 0;
  /** The account that authenticated (set just before ctx.accept() on a real login). */
  account: CompiledAccount | null = null;

  constructor(private readonly opts: AuthOptions, private readonly remoteIp: string, private readonly onTooManyFailures: () => void) {}

  private methodsFor(all: Map<string, AccountEntry>): AuthenticationType[] {
    // The same list for every username, existing or not, with a password or not: a list that followed
    // the account (publickey only for a key-only account, publickey+password for an unknown name) told
    // anyone who asked which usernames exist. A password tried on a key-only account fails like a wrong one.
    const password = [...all.values()].some((e) => !!e.account.password);
    return password ? ['publickey', 'password'] : ['publickey'];
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
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return reject('signature does not verify');
        this.account = account;
        return ctx.accept();
      }
      case 'password': {
        const hash = account?.config.password?.hash;
        const ok = await verifyPassword(ctx.password, hash ?? DUMMY_HASH);
        if (!account || !hash || !ok) return reject(hash ? 'wrong password' : 'password authentication is off for this account');
        this.account = account;
        return ctx.accept();
      }
      default:
        return reject(`method ${ctx.method} not supported`);
    }
  }
}
