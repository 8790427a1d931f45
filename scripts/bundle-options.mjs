// The esbuild options of the bundle in dist/app (scripts/build.mjs), shared with the test that bundles the chart
// renderer the same way and runs it (test/charts/cost-chart-bundle.e2e.test.ts).
//
// `packages: 'external'`: every dependency stays in node_modules and is loaded from there at run time. That is
// required, not only faster to build, for the native addon @resvg/resvg-js (a .node file per platform, chosen when
// it loads), for dejavu-fonts-ttf (font files found with require.resolve) and for Prisma's generated engines.

/** @param {{ root: string; outdir: string; entryPoints: Record<string, string> }} o */
export function bundleOptions(o) {
  return {
    absWorkingDir: o.root,
    entryPoints: o.entryPoints,
    outdir: o.outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
  };
}
