#!/usr/bin/env node
// Assembles the self-checking test guests (guests/*.asm) into build/guests/ with nasm.
// Every guest is assembled with `nasm -f bin`. Most are flat binaries with a Multiboot a.out-kludge
// header (guests/lib/mb.inc); a guest whose first line is `; format: elf` builds its own ELF32
// headers (guests/lib/elf.inc) and gets the .elf suffix, so the ELF loader path is tested too.
// Rebuilds only what changed (source or any include newer than the output).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'guests');
const lib = join(src, 'lib');
const out = join(root, 'build', 'guests');
mkdirSync(out, { recursive: true });

if (spawnSync('nasm', ['-v']).status !== 0) {
  const r = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { stdio: 'inherit' });
  if (r.status !== 0 || spawnSync('nasm', ['-v']).status !== 0) {
    console.error('build-guests: nasm is missing and scripts/setup.sh could not install it');
    process.exit(1);
  }
}

const mtime = (p) => statSync(p).mtimeMs;
const libTime = existsSync(lib) ? Math.max(0, ...readdirSync(lib).map((f) => mtime(join(lib, f)))) : 0;
let built = 0, failed = 0;
for (const f of readdirSync(src).filter((n) => n.endsWith('.asm')).sort()) {
  const name = f.slice(0, -4);
  const file = join(src, f);
  const first = readFileSync(file, 'utf8').split('\n', 1)[0];
  const elf = /^;\s*format:\s*elf/.test(first);
  const dst = join(out, name + (elf ? '.elf' : '.bin'));
  if (existsSync(dst) && mtime(dst) >= Math.max(mtime(file), libTime)) continue;
  try {
    execFileSync('nasm', ['-f', 'bin', '-w+all', '-I', lib + '/', '-I', src + '/', '-o', dst, file], { stdio: 'inherit' });
    built++;
  } catch {
    console.error(`build-guests: nasm failed on guests/${f}`);
    failed++;
  }
}
if (built) console.log(`build-guests: assembled ${built} guest(s) into build/guests/`);
process.exit(failed ? 1 : 0);
