#!/usr/bin/env node
// `npm start`: the main job. Boots Debian's 686-pae Linux kernel with the busybox initramfs under
// the tsvisor hypervisor, interactively on this terminal (COM1 on stdin/stdout; Ctrl-A x quits,
// `poweroff -f` in the guest ends the run). Fetches the kernel first if cache/linux/ lacks it
// (scripts/fetch-linux.mjs: needs root and network the first time) and compiles the TypeScript if
// dist/ is missing or older than the sources. Extra arguments go to `tsvisor run`, e.g.
//   npm start -- --no-hypervisor        npm start -- --exit-stats        npm start -- --mem 256
// Exit status: that of `tsvisor run` (README), or of the fetch when it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cache = join(root, 'cache', 'linux');

/** Newest modification time of the .ts files under `dirs`. */
function newestSource(dirs) {
  let t = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(join(root, d));
  return t;
}

const mainJs = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(mainJs) || statSync(mainJs).mtimeMs < newestSource(['machine', 'hypervisor', 'debug', 'cli'])) {
  console.error('start: compiling the TypeScript (npx tsc)');
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' }); // emits even with type errors elsewhere
}

const fetch = spawnSync('node', [join(root, 'scripts', 'fetch-linux.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
if (fetch.status !== 0) process.exit(fetch.status ?? 1);

const { RECOMMENDED_CMDLINE } = await import(join(root, 'dist', 'machine', 'boot', 'linux.js'));
const manifest = JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8'));
const extra = process.argv.slice(2);
const hv = !extra.includes('--no-hypervisor');
console.error(`start: booting ${manifest.kernel.package} ${manifest.kernel.version} with busybox ${manifest.busybox.version}` +
  `${hv ? ' under the tsvisor hypervisor' : ' bare'}; the kernel's decompressor runs ~2.3e9 guest instructions` +
  ' before the first message (about a minute). Ctrl-A x quits; `poweroff -f` in the guest powers off.');
// Defaults for the flags the caller did not give (tsvisor refuses a flag given twice).
const given = (f) => extra.some((a) => a === `--${f}` || a.startsWith(`--${f}=`));
const defaults = [['kernel', join(cache, 'bzImage')], ['initrd', join(cache, 'initramfs.cpio.gz')], ['append', RECOMMENDED_CMDLINE], ['mem', '128']]
  .filter(([f]) => !given(f)).flatMap(([f, v]) => [`--${f}`, v]);
const args = ['bin/tsvisor.mjs', 'run', ...defaults, ...extra];
const r = spawnSync('node', args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 70);
