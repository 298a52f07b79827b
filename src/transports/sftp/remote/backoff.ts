// Exponential backoff for connection failures and delivery retries.

/** base * 2^(failures-1), capped at max, with ±20% jitter (so partners that failed together do not retry in lockstep). */
export function backoffMs(failures: number, baseSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const raw = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, failures - 1)) * 1000;
  return Math.round(raw * (0.8 + 0.4 * random()));
}
