// The esbuild options of the bundle in dist/app (scripts/build.mjs), shared with the test that bundles the chart
// renderer the same way and runs it (test/charts/cost-chart-bundle.e2e.test.ts).
//
// Dependencies stay in node_modules and are loaded from there at run time, except the few pure-JavaScript ones in
// BUNDLED. Staying outside is required for the native addons (@resvg/resvg-js, libsql: a .node file per platform,
// chosen when it loads), for dejavu-fonts-ttf (font files found with require.resolve), for Prisma's generated
// engines and runtime (WebAssembly beside them), for pino's worker-thread transports, and it keeps Bolt's and
// discord.js's CommonJS module graphs exactly as their authors load them.
//
// BUNDLED: packages whose many small ES modules cost more to find, read and link one by one than to run: the
// Anthropic SDK alone is 257 files at start-up. Bundled, `npm start` comes up about 130 ms sooner and about 10 MB
// smaller (npm run bench). `require` is defined for the CommonJS build of yaml, which requires node builtins.

const BUNDLED = new Set(['@anthropic-ai/sdk', 'zod', 'yaml']);
const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/** Every bare import stays external unless its package is in BUNDLED. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true },
    );
  },
};

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
    plugins: [externalPackages],
    banner: {
      js: "import { createRequire as __qmCreateRequire } from 'node:module'; const require = __qmCreateRequire(import.meta.url);",
    },
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
  };
}
