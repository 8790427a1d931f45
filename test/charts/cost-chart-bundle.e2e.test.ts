/**
 * The chart renderer from an esbuild bundle, as `npm install` builds dist/app (same options, scripts/bundle-options.mjs):
 * plain Node (no tsx) must find ECharts, the native resvg addon and the font from the bundle's location, and
 * draw the same PNG as the sources do.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCostChart } from '../../src/charts/cost-chart.js';
import { pngInfo } from '../support/png.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Two levels below the package root, like dist/app.
const outdir = path.join(root, 'dist', `test-chart-${randomBytes(4).toString('hex')}`);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const input = {
  title: 'Cost per day',
  days: ['2026-11-01', '2026-11-02', '2026-11-03'],
  series: [
    { name: 'Production', usd: [120.5, 98.25, 143] },
    { name: 'Research', usd: [40, 61.75, 12] },
  ],
  width: 640,
  height: 360,
};

describe('the chart renderer in the bundle', () => {
  it('renders from plain Node, with its dependencies loaded from node_modules', async () => {
    const { bundleOptions } = await import(pathToFileURL(path.join(root, 'scripts', 'bundle-options.mjs')).href);
    const result = await build(bundleOptions({ root, outdir, entryPoints: { chart: 'src/charts/cost-chart.ts' } }));
    const bundled = Object.keys(result.metafile!.inputs);
    expect(bundled.some((p) => p.includes('node_modules'))).toBe(false);

    const out = path.join(outdir, 'chart.png');
    const script = `
      const { renderCostChart } = await import(${JSON.stringify(pathToFileURL(path.join(outdir, 'chart.mjs')).href)});
      const { writeFileSync } = await import('node:fs');
      writeFileSync(${JSON.stringify(out)}, await renderCostChart(${JSON.stringify(input)}));`;
    // Another working directory, so nothing resolves from the current directory by luck.
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: '/', stdio: 'pipe' });
    const png = readFileSync(out);
    expect(pngInfo(png)).toMatchObject({ width: 640, height: 360 });
    const fromSource = await renderCostChart(input);
    expect(Buffer.compare(png, Buffer.from(fromSource))).toBe(0);
  });
});
