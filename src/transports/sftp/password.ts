// Password hashes for hosted SFTP accounts. Only a hash is ever stored in partner.yaml, never the
// password. Format (one line, `$`-separated so it survives YAML unquoted):
//
//   scrypt$<N>$<r>$<p>$<salt, base64>$<derived key, base64>
//
// e.g. scrypt$16384$8$1$9yq0...==$Jr8k...= — N, r, p are the scrypt cost parameters (N a power of two),
// the salt is 16 random bytes and the key 32 bytes. The parameters travel with the hash, so they can be
// raised later without invalidating existing hashes.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

export const PASSWORD_HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export interface PasswordHashOptions {
  /** CPU/memory cost, a power of two (default 16384: about 16 MB and 50 ms per check). */
  N?: number;
  r?: number;
  p?: number;
}

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

function parseHash(hash: string): ParsedHash | null {
  const m = PASSWORD_HASH_PATTERN.exec(hash.trim());
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounds keep a hand-edited hash from asking for gigabytes of memory at login time.
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(m[4], 'base64');
  const key = Buffer.from(m[5], 'base64');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** True when `hash` is a well-formed hash that verifyPassword can check. */
export function isPasswordHash(hash: string): boolean {
  return parseHash(hash) !== null;
}

/**
 * Hashes a password for `transports.sftp.password.hash`. No CLI needed:
 *   node -e "import('./dist/transports/sftp/config.js').then(m => m.hashPassword(process.argv[1])).then(console.log)" 'the password'
 */
export async function hashPassword(password: string, opts: PasswordHashOptions = {}): Promise<string> {
  const N = opts.N ?? 16384;
  const r = opts.r ?? 8;
  const p = opts.p ?? 1;
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 });
  const hash = `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
  if (!isPasswordHash(hash)) throw new Error('hashPassword: cost parameters out of range');
  return hash;
}

/** Checks a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const h = parseHash(hash);
  if (!h) return false;
  const key = await scrypt(password, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r * h.p + 1024 * 1024 });
  return timingSafeEqual(key, h.key);
}
