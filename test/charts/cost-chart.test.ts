/** The digest chart as someone opening the image would see it: a real PNG, of the asked size, the same every time. */
import { describe, expect, it } from 'vitest';
import { formatAxisUsd, renderCostChart, renderCostChartSvg, topSeries } from '../../src/charts/cost-chart.js';
import { inkShare, isPng, pngInfo } from '../support/png.js';

const days = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2026, 9, 27 + i)).toISOString().slice(0, 10));
const names = [
  'Production',
  'Research & <Dev>',
  'Default',
  'Support bots',
  'Data pipeline',
  'Marketing',
  'Sandbox',
  'QA',
];
const series = names.map((name, k) => ({
  name,
  usd: days.map((_, i) => Math.round((900 / (k + 1)) * (1.2 + Math.sin(i / 3 + k)) * 100) / 100),
}));
const input = { title: 'Claude API cost per day, last 30 days', days, series };

describe('renderCostChart', () => {
  it('returns a PNG of exactly the requested size, of a sane weight', async () => {
    const png = await renderCostChart({ ...input, width: 800, height: 420 });
    expect(isPng(png)).toBe(true);
    expect(pngInfo(png)).toMatchObject({ width: 800, height: 420 });
    expect(png.length).toBeGreaterThan(5_000);
    expect(png.length).toBeLessThan(400_000);
    // Bars, axes and text were drawn: a good part of the picture is not background.
    expect(inkShare(png)).toBeGreaterThan(0.15);

    const def = await renderCostChart(input);
    expect(pngInfo(def)).toMatchObject({ width: 960, height: 480 });
  });

  it('gives the same bytes for the same input, and different bytes for different input', async () => {
    const a = await renderCostChart(input);
    const b = await renderCostChart({ ...input, series: [...series].reverse() });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    // Only the title differs: the bundled font draws it (with no font, text would be invisible and the bytes equal).
    const c = await renderCostChart({ ...input, title: 'Claude API cost per day, last 31 days' });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(c))).not.toBe(0);
  });

  it('keeps the largest workspaces and sums the rest into Other', () => {
    const top = topSeries(series, 6);
    expect(top.map((s) => s.name)).toEqual([...names.slice(0, 6), 'Other (2)']);
    const other = top[6]!.usd;
    expect(other[3]).toBeCloseTo(series[6]!.usd[3]! + series[7]!.usd[3]!, 9);
    const svg = renderCostChartSvg(input);
    expect(svg).toContain('Other (2)');
    expect(svg).not.toContain('>Sandbox<');
  });

  it('shows names as text: markup in a workspace name is escaped, and the PNG still renders', async () => {
    const svg = renderCostChartSvg(input);
    expect(svg).toContain('Research &amp; &lt;Dev&gt;');
    expect(svg).not.toContain('<Dev>');
    const hostile = await renderCostChart({
      ...input,
      series: [{ name: '</text><script>alert(1)</script>"\'&', usd: series[0]!.usd }],
    });
    expect(pngInfo(hostile).width).toBe(960);
  });

  it('draws an empty period as an empty chart with a note, not an error', async () => {
    const png = await renderCostChart({
      title: 'Nothing yet',
      days,
      series: [{ name: 'Idle', usd: days.map(() => 0) }],
    });
    expect(pngInfo(png)).toMatchObject({ width: 960, height: 480 });
    expect(renderCostChartSvg({ title: 'Nothing yet', days, series: [] })).toContain('No cost recorded in this period');
  });

  it('refuses input that cannot make a truthful chart', async () => {
    await expect(renderCostChart({ ...input, width: 50 })).rejects.toThrow(/width must be an integer from 200/);
    await expect(renderCostChart({ ...input, height: 100_000 })).rejects.toThrow(/height/);
    await expect(renderCostChart({ ...input, series: [{ name: 'x', usd: [1, 2] }] })).rejects.toThrow(
      /has 2 values for 30 days/,
    );
    await expect(
      renderCostChart({ ...input, series: [{ name: 'x', usd: days.map(() => Number.NaN) }] }),
    ).rejects.toThrow(/finite/);
    await expect(renderCostChart({ ...input, days: ['2026/11/01'], series: [] })).rejects.toThrow(/YYYY-MM-DD/);
  });

  it('labels the dollar axis briefly', () => {
    expect([0, 0.5, 12, 250, 1200, 15_000, 3_400_000].map(formatAxisUsd)).toEqual([
      '$0',
      '$0.50',
      '$12',
      '$250',
      '$1.2k',
      '$15k',
      '$3.4M',
    ]);
  });
});
