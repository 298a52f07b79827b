// waybill.yaml loading (src/gateway/config.ts): mistakes an operator makes in it are coded, positioned
// diagnostics at load, never a crash or a gateway that starts in a state where it cannot work.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/gateway/config.js';
import { formatDiagnostic } from '../../src/mappings/diagnostics.js';
import { tempDir } from './support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temp folder with partners/ and a waybill.yaml of `lines`; returns the file's path. */
function configFile(lines: string[], opts: { partners?: boolean } = {}): string {
  const dir = tempDir('config');
  dirs.push(dir);
  if (opts.partners ?? true) mkdirSync(join(dir, 'partners'));
  const file = join(dir, 'waybill.yaml');
  writeFileSync(file, [...lines, ''].join('\n'));
  return file;
}

/** The diagnostics as `waybill serve` prints them. */
function load(file: string | undefined, env: NodeJS.ProcessEnv = {}, opts?: Parameters<typeof loadConfig>[2]) {
  const { config, diagnostics } = loadConfig(file, env, opts);
  return { config, lines: diagnostics.map(formatDiagnostic) };
}

describe('webhook.url', () => {
  const webhook = (url: string) => ['partnersDir: partners', 'webhook:', `  url: ${url}`, '  secret: 0123456789abcdef'];

  it('rejects a URL that is not http(s) as CONFIG_INVALID at the url value', () => {
    for (const url of ['ftp://erp.example/events', 'file:///var/spool/events', 'mailto:ops@erp.example']) {
      const file = configFile(webhook(url));
      const { config, lines } = load(file);
      expect(config, url).toBeNull();
      expect(lines, url).toEqual([`${file}:3:8 CONFIG_INVALID webhook.url: '${url}' is not an http:// or https:// URL`]);
    }
  });

  it('accepts http and https URLs; a missing url is still reported as required', () => {
    for (const url of ['http://127.0.0.1:9000/events', 'https://erp.example/hooks/waybill?tenant=7']) {
      const { config, lines } = load(configFile(webhook(url)));
      expect(lines, url).toEqual([]);
      expect(config?.webhook?.url, url).toBe(url);
    }
    const file = configFile(['partnersDir: partners', 'webhook:', '  secret: 0123456789abcdef']);
    expect(load(file).lines).toEqual([expect.stringMatching(new RegExp(`^${escape(file)}:3:3 CONFIG_INVALID 'webhook.url' is required`))]);
  });
});

describe('--config naming a folder', () => {
  it('is CONFIG_FILE_UNREADABLE, not an internal EISDIR error', () => {
    const dir = tempDir('config-dir');
    dirs.push(dir);
    const { config, lines } = load(dir);
    expect(config).toBeNull();
    expect(lines).toEqual([`${dir}:1:1 CONFIG_FILE_UNREADABLE ${dir} is a folder, not a config file (name the waybill.yaml inside it)`]);
  });
});

describe('a waybill.yaml that is not UTF-8', () => {
  it('is YAML_NOT_UTF8 at the first byte that is not, rather than a value with a replacement character', () => {
    const file = configFile([]);
    // 'é' in Latin-1: one byte, 0xE9, which starts no UTF-8 character followed by '-'.
    writeFileSync(file, Buffer.from('partnersDir: partners\nwebhook:\n  url: http://127.0.0.1:9000/events\n  secret: caf\u00e9-0123456789abcdef\n', 'latin1'));
    const { config, lines } = load(file);
    expect(config).toBeNull();
    expect(lines).toEqual([`${file}:4:14 YAML_NOT_UTF8 byte 0xE9 at offset 80 is not UTF-8 (text saved as Latin-1 or Windows-1252?): save it as UTF-8`]);
  });
});

describe('partnersDir', () => {
  it('is CONFIG_INVALID at its line when the folder does not exist, naming the path', () => {
    const file = configFile(['dataDir: data', 'partnersDir: partnrs'], { partners: false });
    const { config, lines } = load(file);
    expect(config).toBeNull();
    const missing = join(file, '..', 'partnrs');
    expect(lines).toEqual([`${file}:2:14 CONFIG_INVALID partnersDir ${missing} does not exist; it must be the folder holding the partner folders`]);
  });

  it('is CONFIG_INVALID when it is a file, and when the default or WAYBILL_PARTNERS names nothing', () => {
    const file = configFile(['partnersDir: waybill.yaml']);
    expect(load(file).lines).toEqual([`${file}:1:14 CONFIG_INVALID partnersDir ${file} is not a folder; it must be the folder holding the partner folders`]);

    const noPartners = configFile(['dataDir: data'], { partners: false });
    expect(load(noPartners).lines).toEqual([
      `${noPartners}:1:1 CONFIG_INVALID partnersDir ${join(noPartners, '..', 'partners')} does not exist; it must be the folder holding the partner folders`,
    ]);

    const viaEnv = configFile(['partnersDir: partners']);
    const gone = join(viaEnv, '..', 'gone');
    expect(load(viaEnv, { WAYBILL_PARTNERS: gone }).lines).toEqual([
      `${viaEnv}:1:1 CONFIG_INVALID partnersDir ${gone} (from WAYBILL_PARTNERS) does not exist; it must be the folder holding the partner folders`,
    ]);
  });

  it('is accepted when it exists, and not checked for commands that never read partners', () => {
    const file = configFile(['partnersDir: partners']);
    const { config, lines } = load(file);
    expect(lines).toEqual([]);
    expect(config?.partnersDir).toBe(join(file, '..', 'partners'));

    const noPartners = configFile(['dataDir: data'], { partners: false });
    expect(load(noPartners, {}, { checkPartnersDir: false }).lines).toEqual([]);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('inbound.folder over the gateway\'s own files', () => {
  it('is CONFIG_INVALID at inbound.folder when it holds the data folder, the partners folder or the config itself', () => {
    // With `folder: .`, the gateway archived its own waybill.yaml, ledger.db and lock within seconds.
    for (const [lines, what] of [
      [['dataDir: data', 'partnersDir: partners', 'inbound:', '  folder: .'], 'holds the data folder'],
      [['dataDir: data', 'partnersDir: partners', 'inbound:', '  folder: data'], 'holds the data folder'],
      [['dataDir: /var/tmp/elsewhere-waybill-data', 'partnersDir: partners', 'inbound:', '  folder: .'], 'holds the partners folder'],
    ] as const) {
      const file = configFile([...lines]);
      const { config, lines: out } = load(file);
      expect(config, lines.join(' ')).toBeNull();
      expect(out, lines.join(' ')).toEqual([expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:11 CONFIG_INVALID inbound\\.folder .* ${what} `))]);
    }
    const ok = configFile(['dataDir: data', 'partnersDir: partners', 'inbound:', '  folder: inbound']);
    expect(load(ok).config).not.toBeNull();
  });
});

describe('webhook.secret from the environment', () => {
  it('is CONFIG_INVALID at the secret when the variable it names is not set, and read from it when set', () => {
    const file = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/events', '  secret: env:WAYBILL_TEST_WEBHOOK_SECRET']);
    expect(load(file).lines).toEqual([`${file}:4:11 CONFIG_INVALID webhook.secret names environment variable WAYBILL_TEST_WEBHOOK_SECRET, which is not set`]);
    expect(load(file, { WAYBILL_TEST_WEBHOOK_SECRET: '0123456789abcdef' }).config?.webhook?.secret).toBe('0123456789abcdef');
  });

  it('holds the secret the variable gives to the 8-character minimum, not the env:NAME reference', () => {
    // A short variable name holding a long secret was refused ("Too small: expected string to have >=8
    // characters", about `env:WH`), and a long name holding `abc` was taken as the HMAC key.
    const short = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/events', '  secret: env:WH']);
    expect(load(short, { WH: '0123456789abcdef' })).toMatchObject({ lines: [], config: { webhook: { secret: '0123456789abcdef' } } });
    const weak = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/events', '  secret: env:WEBHOOK_SECRET']);
    expect(load(weak, { WEBHOOK_SECRET: 'abc' }).lines).toEqual([`${weak}:4:11 CONFIG_INVALID webhook.secret: environment variable WEBHOOK_SECRET holds 3 character(s); a secret is at least 8`]);
    const literal = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/events', '  secret: abc']);
    expect(load(literal).lines).toEqual([`${literal}:4:11 CONFIG_INVALID webhook.secret: a secret is at least 8 characters (or env:NAME to read it from the environment)`]);
    const empty = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/events', '  secret: "env:"']);
    expect(load(empty).lines).toEqual([`${empty}:4:11 CONFIG_INVALID webhook.secret: env: needs the name of an environment variable after it`]);
  });
});

describe('redisUrl', () => {
  it('is CONFIG_INVALID at its line when it is no redis:// URL (it was found only at start, without a place)', () => {
    const file = configFile(['partnersDir: partners', 'redisUrl: "127.0.0.1:6379"']);
    expect(load(file).lines).toEqual([`${file}:2:11 CONFIG_INVALID redisUrl '127.0.0.1:6379' is not a URL; it looks like redis://127.0.0.1:6379`]);
    const env = load(configFile(['partnersDir: partners']), { REDIS_URL: 'not a url' });
    expect(env.config).toBeNull();
    expect(env.lines[0]).toMatch(/:1:1 CONFIG_INVALID redisUrl 'not a url' \(from REDIS_URL\) is not a URL/);
    expect(load(configFile(['partnersDir: partners', 'redisUrl: rediss://cache.example:6380/2'])).config?.redisUrl).toBe('rediss://cache.example:6380/2');
    expect(load(configFile(['partnersDir: partners', 'redisUrl: http://127.0.0.1:6379'])).lines[0]).toMatch(/CONFIG_INVALID redisUrl 'http:\/\/127.0.0.1:6379' has the scheme http: where redis: or rediss: belongs/);
  });
});

describe('the partners folder holding the gateway\'s own folders (reload-audit)', () => {
  it('is CONFIG_INVALID at dataDir or inbound.folder when either is inside partnersDir', () => {
    // partnersDir: . next to waybill.yaml: the ledger's writes (and every arriving file) reloaded all
    // partners at each check, and data/ and inbound/ were served as partners without partner.yaml.
    const data = configFile(['partnersDir: .', 'dataDir: data', 'inbound:', '  folder: null']);
    expect(load(data).config).toBeNull();
    expect(load(data).lines).toEqual([expect.stringMatching(/:2:10 CONFIG_INVALID dataDir .* is inside the partners folder/)]);
    const inbound = configFile(['partnersDir: .', 'dataDir: /var/tmp/elsewhere-waybill-data', 'inbound:', '  folder: inbound']);
    expect(load(inbound).lines).toEqual([expect.stringMatching(/:4:11 CONFIG_INVALID inbound\.folder .* is inside the partners folder/)]);
  });

  it('an empty WAYBILL_PARTNERS or WAYBILL_DATA is unset (as an empty REDIS_URL is), not the config\'s own folder', () => {
    const file = configFile(['partnersDir: partners', 'dataDir: data']);
    const { config, lines } = load(file, { WAYBILL_PARTNERS: '', WAYBILL_DATA: '', REDIS_URL: '' });
    expect(lines).toEqual([]);
    expect(config?.partnersDir).toBe(join(file, '..', 'partners'));
    expect(config?.dataDir).toBe(join(file, '..', 'data'));
  });
});

describe('webhook.secret from an unset environment variable (reload-audit)', () => {
  it('is CONFIG_INVALID at the secret, not at 1:1', () => {
    const file = configFile(['partnersDir: partners', 'webhook:', '  url: https://erp.example/hook', '  secret: env:WAYBILL_RELOAD_AUDIT_UNSET']);
    expect(load(file, {}).lines).toEqual([`${file}:4:11 CONFIG_INVALID webhook.secret names environment variable WAYBILL_RELOAD_AUDIT_UNSET, which is not set`]);
  });
});
