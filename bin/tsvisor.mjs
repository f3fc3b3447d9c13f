#!/usr/bin/env node
// Entry point for `npx tsvisor`: runs the compiled CLI (built by `npm ci` via the prepare script).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => process.exit(code),
  (err) => { console.error(`tsvisor: internal error: ${err && err.stack || err}`); process.exit(70); },
);
