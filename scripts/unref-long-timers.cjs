// Preload for the Prisma CLI (engine: 'js' on Postgres): the WASM schema engine arms 10 s / 60 s timeouts
// (advisory lock etc.) that are never cleared, so the process lingers after finishing. Unref them.
const orig = global.setTimeout;
global.setTimeout = function (fn, ms, ...args) {
  const t = orig.call(this, fn, ms, ...args);
  if (ms >= 5000 && t && typeof t.unref === 'function') t.unref();
  return t;
};
