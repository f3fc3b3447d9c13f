#!/usr/bin/env node
// Builds the browser front end into build/web/ (or --out DIR): the page (web/index.html,
// web/style.css, xterm.js's stylesheet), two esbuild bundles of the TypeScript sources — main.js
// (the page) and worker.js (the machine: machine/, hypervisor/, debug/) — iced-x86's glue and wasm
// for the disassembler (loaded by the worker with loadIcedFromSources), and the test guests of
// build/guests/ with their runner headers in guests/guests.json.
// Bundled for platform 'browser': a Node API imported anywhere in the core fails the build.
// Usage: node scripts/build-web.mjs [--out DIR] [--dev]   (--dev: not minified)
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = resolve(outIdx >= 0 ? args[outIdx + 1] : join(root, 'build', 'web'));
const dev = args.includes('--dev');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'iced'), { recursive: true });
mkdirSync(join(out, 'guests'), { recursive: true });

await build({
  entryPoints: { main: join(root, 'web', 'main.ts'), worker: join(root, 'web', 'worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: !dev,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
});

const copy = (from, to) => copyFileSync(join(root, from), join(out, to));
copy('web/index.html', 'index.html');
copy('web/style.css', 'style.css');
copy('node_modules/@xterm/xterm/css/xterm.css', 'xterm.css');
copy('node_modules/iced-x86/iced_x86.js', 'iced/iced_x86.js');
copy('node_modules/iced-x86/iced_x86_bg.wasm', 'iced/iced_x86_bg.wasm');
copy('node_modules/iced-x86/LICENSE.txt', 'iced/LICENSE.txt');

// The test guests, with the options the guest runner reads from their first 20 lines (guests/README.md).
const guestBin = join(root, 'build', 'guests');
const guests = [];
for (const file of existsSync(guestBin) ? readdirSync(guestBin).filter((f) => /\.(bin|elf)$/.test(f)).sort() : []) {
  const name = file.replace(/\.(bin|elf)$/, '');
  const asm = join(root, 'guests', `${name}.asm`);
  const head = existsSync(asm) ? readFileSync(asm, 'utf8').split('\n').slice(0, 20) : [];
  const get = (k) => { for (const l of head) { const m = new RegExp(`^;\\s*${k}:\\s*(.+)$`).exec(l); if (m) return m[1].trim(); } return null; };
  const first = head.find((l) => l.startsWith(`; ${name}:`));
  copyFileSync(join(guestBin, file), join(out, 'guests', file));
  guests.push({
    name, file,
    title: first ? first.slice(`; ${name}:`.length).trim() : '',
    memMiB: Number(get('mem') ?? 64),
    run: get('run') ?? 'both',
    kvm: (get('hv-options') ?? '').split(/\s+/).includes('kvm'),
    hypapps: (get('hv-hypapps') ?? '').split(/\s+/).filter(Boolean),
    quirk: get('hv-quirk'),
  });
}
writeFileSync(join(out, 'guests', 'guests.json'), JSON.stringify(guests, null, 1) + '\n');
if (guests.length === 0) console.warn('build-web: no test guests in build/guests (run: node scripts/build-guests.mjs)');

const size = (f) => statSync(join(out, f)).size;
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`build-web: ${out}: main.js ${kib(size('main.js'))}, worker.js ${kib(size('worker.js'))}, ` +
  `iced-x86 ${kib(size('iced/iced_x86.js') + size('iced/iced_x86_bg.wasm'))}, ${guests.length} test guests${dev ? ' (not minified)' : ''}`);
