/** `spend.prices` in quartermaster.yaml: overrides and additions to the price table, and clear errors. */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { Policy } from '../../src/core/approvals/policy.js';
import { DEFAULT_PRICES, estimateNanos } from '../../src/core/spend/prices.js';

const tokens = { uncachedInput: 1_000_000n, cacheRead: 0n, cacheWrite5m: 0n, cacheWrite1h: 0n, output: 0n };

describe('spend.prices', () => {
  it('the built-in table without a file', () => {
    expect(Policy.defaults().prices).toBe(DEFAULT_PRICES);
  });

  it('replaces a model prefix and adds a new one; estimates use them', () => {
    const p = parsePolicyText(
      `
version: 1
spend:
  prices:
    claude-sonnet-5: { input: "3", cache_write_5m: "3.75", cache_write_1h: "6", cache_read: "0.10", output: 15 }
    claude-newmodel-1: { input: "0.5", cache_write_5m: "0.625", cache_write_1h: "1", cache_read: "0.05", output: "2.5" }
`,
      'test.yaml',
    );
    expect(estimateNanos(tokens, 'claude-sonnet-5-20260101', 'standard', p.prices)).toBe(3_000_000_000n);
    expect(estimateNanos(tokens, 'claude-newmodel-1', 'standard', p.prices)).toBe(500_000_000n);
    expect(estimateNanos(tokens, 'claude-opus-4-6', 'standard', p.prices)).toBe(5_000_000_000n);
  });

  it('a bad price or key is reported with its path', () => {
    const bad = () =>
      parsePolicyText(
        `
spend:
  prices:
    claude-sonnet-5: { input: "three", cache_write_5m: "3.75", cache_write_1h: "6", cache_read: "0.10", output: "15" }
    claude-x: { input: "1", cache_write_5m: "1", cache_write_1h: "1", cache_read: "1", outptu: "1" }
`,
        'test.yaml',
      );
    expect(bad).toThrow(/spend\.prices\.claude-sonnet-5\.input: "three" is not a price in USD per million tokens/);
    expect(bad).toThrow(/outptu/);
  });
});
