/**
 * The digest's chart: cost per day, stacked by workspace, as a PNG. ECharts lays the chart out and renders it to an
 * SVG string on the server (no DOM, no canvas); resvg turns the SVG into a PNG with the DejaVu Sans font from npm
 * and never a system font, so the same input gives the same bytes on every machine.
 *
 * Both libraries load on the first chart, not at start-up (ECharts costs ~200 ms to load). ECharts is loaded
 * through `require`, which picks its single-file CommonJS build: the ES module build is hundreds of small files
 * and takes three times as long to load. Paths are resolved from this module's own URL, so the same code works
 * from src/ (tsx, vitest) and from the esbuild bundle in dist/app/ (where both packages stay external).
 *
 * Plotting uses JavaScript numbers (dollars as floats): the image is a picture, not a ledger; the digest's text
 * carries the exact amounts.
 */
import { createRequire } from 'node:module';
import { type FontMetrics, loadFontMetrics } from './font-metrics.js';

export interface CostChartSeries {
  /** The series' label in the legend (a workspace name); shown as text, never interpreted as markup. */
  name: string;
  /** Dollars per day, one per entry of `days`. */
  usd: number[];
}

export interface CostChartInput {
  title: string;
  /** The x axis, oldest first: `YYYY-MM-DD`. */
  days: string[];
  series: CostChartSeries[];
  /** Pixels; default 960 × 480 (readable in Slack's and Discord's previews). */
  width?: number;
  height?: number;
  /** Workspaces drawn on their own (largest total first); the rest are summed into "Other". Default 6. */
  maxSeries?: number;
}

/** Limits on the requested size, so a bad argument cannot ask resvg for gigabytes. */
export const CHART_MIN_SIDE = 200;
export const CHART_MAX_SIDE = 4000;
export const OTHER_SERIES = 'Other';

/** A fixed palette (colour-blind-friendly, from Okabe–Ito and Tableau), in order of size; "Other" is grey. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
const OTHER_COLOR = '#bab0ac';
const FONT = 'DejaVu Sans';

type Echarts = typeof import('echarts');
type Resvg = typeof import('@resvg/resvg-js');

const require = createRequire(import.meta.url);
let libs: { echarts: Echarts; resvg: Resvg; fontFiles: string[] } | null = null;

function load(): NonNullable<typeof libs> {
  if (libs) return libs;
  const regular = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
  const bold = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');
  const echarts = require('echarts') as Echarts;
  const metrics = { regular: loadFontMetrics(regular), bold: loadFontMetrics(bold) };
  // ECharts lays text out with these widths (legend spacing, axis room); see font-metrics.ts for why.
  echarts.setPlatformAPI({ measureText: (text: string, font?: string) => ({ width: measure(metrics, text, font) }) });
  libs = { echarts, resvg: require('@resvg/resvg-js') as Resvg, fontFiles: [regular, bold] };
  return libs;
}

/** `font` is a CSS font shorthand as ECharts writes it, e.g. `bold 18px "DejaVu Sans"` or `normal 13px DejaVu Sans`. */
function measure(m: { regular: FontMetrics; bold: FontMetrics }, text: string, font = '12px sans-serif'): number {
  const size = Number(/(\d+(?:\.\d+)?)px/.exec(font)?.[1] ?? 12);
  const isBold = /\b(bold|bolder|[6-9]00)\b/.test(font);
  return (isBold ? m.bold : m.regular).width(text ?? '', size);
}

/** Keeps the `max` largest series (by total) and sums the others into one "Other" series. */
export function topSeries(series: readonly CostChartSeries[], max: number): CostChartSeries[] {
  const total = (s: CostChartSeries) => s.usd.reduce((a, b) => a + b, 0);
  // Largest first; equal totals by name, so the order (and the colours) never depend on the input's order.
  const sorted = [...series].sort((a, b) => total(b) - total(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sorted.length <= max) return sorted;
  const kept = sorted.slice(0, Math.max(0, max));
  const rest = sorted.slice(kept.length);
  const other = rest[0]!.usd.map((_, i) => rest.reduce((a, s) => a + (s.usd[i] ?? 0), 0));
  return [...kept, { name: `${OTHER_SERIES} (${rest.length})`, usd: other }];
}

/** `$0`, `$250`, `$1.2k`, `$3.4M`: short enough for the axis at preview size. */
export function formatAxisUsd(v: number): string {
  const abs = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  const trim = (n: number) => String(Number(n.toFixed(n >= 100 ? 0 : 1)));
  if (abs >= 1e6) return `${sign}$${trim(abs / 1e6)}M`;
  if (abs >= 1e3) return `${sign}$${trim(abs / 1e3)}k`;
  if (abs > 0 && abs < 1) return `${sign}$${abs.toFixed(2)}`;
  return `${sign}$${trim(abs)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `2026-11-03` → `Nov 3`. */
function dayLabel(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  return m ? `${MONTHS[Number(m[2]) - 1] ?? m[2]} ${Number(m[3])}` : day;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Throws on input that cannot make a truthful chart (mismatched lengths, a bad size). */
function validate(input: CostChartInput): { width: number; height: number } {
  const width = input.width ?? 960;
  const height = input.height ?? 480;
  for (const [k, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < CHART_MIN_SIDE || v > CHART_MAX_SIDE) {
      throw new RangeError(`cost chart: ${k} must be an integer from ${CHART_MIN_SIDE} to ${CHART_MAX_SIDE}, not ${v}`);
    }
  }
  for (const d of input.days) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new RangeError(`cost chart: day ${JSON.stringify(d)} is not YYYY-MM-DD`);
  }
  for (const s of input.series) {
    if (s.usd.length !== input.days.length) {
      throw new RangeError(
        `cost chart: series ${JSON.stringify(s.name)} has ${s.usd.length} values for ${input.days.length} days`,
      );
    }
    if (s.usd.some((v) => !Number.isFinite(v))) {
      throw new RangeError(`cost chart: series ${JSON.stringify(s.name)} has a value that is not a finite number`);
    }
  }
  return { width, height };
}

/** The SVG (before rasterising); exported for tests and for anyone who wants a vector image. */
export function renderCostChartSvg(input: CostChartInput): string {
  const { width, height } = validate(input);
  const { echarts } = load();
  const series = topSeries(
    input.series.filter((s) => s.usd.some((v) => v !== 0)),
    input.maxSeries ?? 6,
  );
  const empty = series.length === 0;
  const scale = Math.min(width / 960, height / 480);
  const px = (n: number) => Math.max(9, Math.round(n * Math.max(scale, 0.75)));
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: FONT, color: '#1f2937' },
      color: series.map((s, i) =>
        s.name.startsWith(OTHER_SERIES) && i === series.length - 1 ? OTHER_COLOR : PALETTE[i % PALETTE.length]!,
      ),
      title: {
        text: cut(input.title, 90),
        left: px(16),
        top: px(10),
        textStyle: { fontFamily: FONT, fontSize: px(18), fontWeight: 'bold', color: '#111827' },
      },
      legend: {
        show: !empty,
        type: 'plain',
        bottom: px(8),
        left: 'center',
        itemWidth: px(14),
        itemHeight: px(12),
        textStyle: { fontFamily: FONT, fontSize: px(13) },
        data: series.map((s) => s.name),
        formatter: (name: string) => cut(name, 28),
      },
      grid: { left: px(16), right: px(24), top: px(52), bottom: px(empty ? 24 : 72), containLabel: true },
      xAxis: {
        type: 'category',
        data: input.days.map(dayLabel),
        axisTick: { alignWithLabel: true },
        axisLabel: {
          fontFamily: FONT,
          fontSize: px(12),
          // About six labels across, whatever the number of days.
          interval: Math.max(0, Math.ceil(input.days.length / 6) - 1),
        },
      },
      yAxis: {
        type: 'value',
        ...(empty ? { min: 0, max: 1 } : {}),
        axisLabel: { show: !empty, fontFamily: FONT, fontSize: px(12), formatter: (v: number) => formatAxisUsd(v) },
        splitLine: { lineStyle: { color: '#e5e7eb' } },
      },
      series: series.map((s) => ({
        name: s.name,
        type: 'bar',
        stack: 'cost',
        barCategoryGap: '25%',
        data: s.usd,
      })),
      graphic: empty
        ? [
            {
              type: 'text',
              left: 'center',
              top: 'middle',
              style: { text: 'No cost recorded in this period', fontFamily: FONT, fontSize: px(16), fill: '#6b7280' },
            },
          ]
        : [],
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Cost per day stacked by workspace, as a PNG of exactly `width` × `height` pixels. */
export async function renderCostChart(input: CostChartInput): Promise<Uint8Array> {
  const svg = renderCostChartSvg(input);
  const { resvg, fontFiles } = load();
  // Off the event loop (libuv's pool), with only the bundled font: the output never depends on the machine.
  const image = await resvg.renderAsync(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles,
      defaultFontFamily: FONT,
      sansSerifFamily: FONT,
    },
    fitTo: { mode: 'original' },
    background: '#ffffff',
    logLevel: 'off',
  });
  const png = image.asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
