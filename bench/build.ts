// Assemble a benchmark guest (bench/guests/**/NAME.asm, with bench/guests/mb.inc) into build/bench/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const gdir = join(root, 'bench', 'guests');
const out = join(root, 'build', 'bench');

/** Path of the assembled image of bench/guests/<rel>.asm (rebuilt when older than its source). */
export function buildBenchGuest(rel: string): string {
  mkdirSync(out, { recursive: true });
  const src = join(gdir, rel + '.asm');
  const src2 = existsSync(src) ? src : join(gdir, 'vmx', rel + '.asm');
  const bin = join(out, rel.replace(/\//g, '-') + '.bin');
  const inc = join(gdir, 'mb.inc');
  if (!existsSync(bin) || statSync(bin).mtimeMs < Math.max(statSync(src2).mtimeMs, statSync(inc).mtimeMs)) {
    execFileSync('nasm', ['-f', 'bin', '-I', gdir + '/', '-o', bin, src2], { stdio: 'inherit' });
  }
  return bin;
}
