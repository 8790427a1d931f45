/** Rows of the ingested reports, as a sync writes them, for tests that need exact spend (store.spend.replace*). */
import type { CostDayRow, UsageHourRow } from '../../src/core/ports/spend.js';

/** One dollar in nano-dollars. */
export const USD = 1_000_000_000n;

/** One cost-report row of a UTC day (`YYYY-MM-DD`) for a workspace: Sonnet 4.5 tokens costing `nanos`. */
export function costRow(day: string, workspaceId: string, nanos: bigint, o: Partial<CostDayRow> = {}): CostDayRow {
  return {
    day: new Date(`${day}T00:00:00Z`),
    workspaceId,
    description: 'Claude Sonnet 4.5 Usage - Output Tokens',
    costType: 'tokens',
    model: 'claude-sonnet-4-5',
    tokenType: 'output_tokens',
    serviceTier: 'standard',
    nanos,
    ...o,
  };
}

/** One hourly usage row (all counts 0 unless given) of a key in a workspace. */
export function usageRow(
  hour: string,
  where: { workspaceId: string; apiKeyId: string },
  o: Partial<UsageHourRow> = {},
): UsageHourRow {
  return {
    bucketStart: new Date(hour),
    ...where,
    model: 'claude-sonnet-4-5-20250929',
    serviceTier: 'standard',
    uncachedInput: 0n,
    cacheRead: 0n,
    cacheWrite5m: 0n,
    cacheWrite1h: 0n,
    output: 0n,
    webSearch: 0n,
    ...o,
  };
}
