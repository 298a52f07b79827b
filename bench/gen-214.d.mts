// Types for bench/gen-214.mjs (plain JavaScript so the benchmark runs with node alone; tests import it).
export interface Generate214Options {
  /** Transaction sets per functional group (default 1000). */
  perGroup?: number;
  /** Functional groups per interchange (default 10). */
  groupsPerInterchange?: number;
  /** PRNG seed (default 214); the same options always give the same bytes. */
  seed?: number;
  /** Segment terminator plus optional line break (default '~\n'). */
  terminator?: string;
}
export function generate214Pieces(o: Generate214Options & { transactions: number }): Generator<string>;
export function generate214String(transactions: number, options?: Generate214Options): string;
export function generate214File(path: string, transactions: number, options?: Generate214Options): Promise<number>;
