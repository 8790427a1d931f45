/**
 * Money, exactly. Every amount is a bigint of nano-dollars (1e-9 USD): the cost report's decimal cent strings
 * ("123.78912" = $1.2378912) convert without loss up to 7 fractional digits of a cent, sums stay integers in
 * JavaScript and in SQL, and nothing is ever a float. Rounding happens once, when an amount is shown.
 */
export type Nanos = bigint;

export const NANOS_PER_CENT = 10_000_000n;
export const NANOS_PER_USD = 1_000_000_000n;

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** A decimal string (or an integer) scaled by 10^scale, rounded half away from zero beyond `scale` digits. */
function scaled(text: string, scale: number): bigint | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  const frac = m[3] ?? '';
  const kept = (frac + '0'.repeat(scale)).slice(0, scale);
  let v = BigInt(m[2]!) * 10n ** BigInt(scale) + BigInt(kept || '0');
  if (frac.length > scale && Number(frac[scale]) >= 5) v += 1n;
  return m[1] === '-' ? -v : v;
}

/**
 * The cost report's `amount` (a decimal string in cents) or the Claude Code report's `estimated_cost.amount` (a
 * JSON number in cents, taken through its shortest decimal form, never multiplied as a float). Throws on anything
 * that is not a plain decimal.
 */
export function centsToNanos(amount: string | number): Nanos {
  const text = typeof amount === 'number' ? numberToDecimal(amount) : amount;
  const v = scaled(text, 7);
  if (v === null) throw new Error(`not a decimal amount of cents: ${JSON.stringify(String(amount).slice(0, 40))}`);
  return v;
}

/** A user-typed dollar amount ("1200", "$1,200.50"); null when it is not one. */
export function parseUsd(input: string): Nanos | null {
  const text = input
    .trim()
    .replace(/^\$/, '')
    .replace(/,(?=\d{3}(\D|$))/g, '');
  const v = scaled(text, 9);
  return v === null || v < 0n ? null : v;
}

function numberToDecimal(n: number): string {
  if (!Number.isFinite(n)) return 'NaN';
  const s = String(n);
  if (!/e/i.test(s)) return s;
  // 1e-7 and the like: expand the exponent on the digits, not through float arithmetic.
  const [mant, expText] = s.toLowerCase().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const [int, frac = ''] = mant.replace('-', '').split('.') as [string, string?];
  const digits = int + frac;
  const point = int.length + exp;
  const out =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + out;
}

/** Rounded half away from zero to a whole number of `unit`s. */
export function roundTo(n: Nanos, unit: bigint): bigint {
  const q = n / unit;
  const r = n % unit;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= unit) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/** Exact to the cent as a decimal string of dollars: "1234.57", "-0.05", "0.00". For JSON. */
export function usdString(n: Nanos): string {
  const cents = roundTo(n, NANOS_PER_CENT);
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  return `${neg ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** For people: "$1,234.57"; amounts under a cent but above zero read "<$0.01". */
export function formatUsd(n: Nanos): string {
  if (n > 0n && n < NANOS_PER_CENT / 2n) return '<$0.01';
  const s = usdString(n);
  const neg = s.startsWith('-');
  const [whole, cents] = s.replace('-', '').split('.') as [string, string];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}$${grouped}.${cents}`;
}

/** a / b as a ratio for percentages and changes, computed on integers (one float at the very end). */
export function ratio(a: Nanos, b: Nanos): number | null {
  if (b === 0n) return null;
  // 1e6 fixed-point keeps 6 significant decimals without converting the (possibly huge) operands to floats.
  return Number((a * 1_000_000n) / b) / 1_000_000;
}
