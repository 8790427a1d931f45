/**
 * List prices for estimates (admin-api.md §6). The cost report cannot be grouped by key or model-per-key, so money
 * per key is tokens × these prices: an estimate, always labelled as one. Organization and workspace totals come
 * from the cost report. The table is overridable in quartermaster.yaml (`spend.prices`).
 */
import type { Nanos } from './money.js';

/** USD per million tokens, as decimal strings (up to 6 decimals). */
export interface ModelPrice {
  input: string;
  cacheWrite5m: string;
  cacheWrite1h: string;
  cacheRead: string;
  output: string;
}

export interface TokenCounts {
  uncachedInput: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
}

/** Model id prefix → price; the longest matching prefix wins (usage reports dated ids such as claude-sonnet-4-20250514). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

const p = (input: string, w5: string, w1h: string, read: string, output: string): ModelPrice => ({
  input,
  cacheWrite5m: w5,
  cacheWrite1h: w1h,
  cacheRead: read,
  output,
});

export const DEFAULT_PRICES: PriceTable = {
  'claude-fable-5-1': p('10', '12.50', '20', '0.25', '50'),
  'claude-opus-5-5': p('4', '5', '8', '0.20', '20'),
  'claude-opus-5': p('5', '6.25', '10', '0.50', '25'),
  'claude-opus-4-8': p('5', '6.25', '10', '0.50', '25'),
  'claude-opus-4-7': p('5', '6.25', '10', '0.50', '25'),
  'claude-opus-4-6': p('5', '6.25', '10', '0.50', '25'),
  'claude-opus-4-5': p('5', '6.25', '10', '0.50', '25'),
  'claude-opus-4-1': p('15', '18.75', '30', '1.50', '75'),
  'claude-opus-4': p('15', '18.75', '30', '1.50', '75'),
  'claude-sonnet-5-5': p('2', '2.50', '4', '0.20', '10'),
  'claude-sonnet-5': p('2', '2.50', '4', '0.20', '10'),
  'claude-sonnet-4-6': p('3', '3.75', '6', '0.30', '15'),
  'claude-sonnet-4-5': p('3', '3.75', '6', '0.30', '15'),
  'claude-sonnet-4': p('3', '3.75', '6', '0.30', '15'),
  'claude-haiku-5-5': p('0.10', '0.125', '0.20', '0.01', '0.50'),
  'claude-haiku-4-5': p('1', '1.25', '2', '0.10', '5'),
  'claude-3-5-haiku': p('0.80', '1', '1.60', '0.08', '4'),
  'claude-haiku-3-5': p('0.80', '1', '1.60', '0.08', '4'),
};

/** The price of a model id by longest prefix, or null (unknown models are shown without an estimate). */
export function priceFor(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | null {
  let best: string | null = null;
  for (const prefix of Object.keys(table)) {
    if ((model === prefix || model.startsWith(`${prefix}-`)) && (best === null || prefix.length > best.length)) {
      best = prefix;
    }
  }
  return best === null ? null : table[best]!;
}

/** USD per million tokens → 1e-3 nano-dollars per token (exact for up to 6 decimals). */
function perToken(usdPerMillion: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(usdPerMillion.trim());
  if (!m) throw new Error(`not a price in USD per million tokens: ${usdPerMillion}`);
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** Checks a price table (for the policy file); returns the first problem or null. */
export function priceProblem(table: PriceTable): string | null {
  for (const [model, price] of Object.entries(table)) {
    for (const [field, value] of Object.entries(price)) {
      try {
        perToken(String(value));
      } catch {
        return `${model}.${field}: ${JSON.stringify(value)} is not a price in USD per million tokens`;
      }
    }
  }
  return null;
}

/**
 * Estimated cost of a token count at list price: Σ tokens × price, halved for the Batch tier. Null when the model
 * has no price. Exact integer arithmetic; rounded once to a whole nano-dollar.
 */
export function estimateNanos(
  tokens: TokenCounts,
  model: string,
  serviceTier: string,
  table: PriceTable = DEFAULT_PRICES,
): Nanos | null {
  const price = priceFor(model, table);
  if (!price) return null;
  const milli =
    tokens.uncachedInput * perToken(price.input) +
    tokens.cacheWrite5m * perToken(price.cacheWrite5m) +
    tokens.cacheWrite1h * perToken(price.cacheWrite1h) +
    tokens.cacheRead * perToken(price.cacheRead) +
    tokens.output * perToken(price.output);
  const divisor = serviceTier === 'batch' ? 2000n : 1000n;
  return (milli + divisor / 2n) / divisor;
}
