// `npm run bench`: guest MIPS of the interpreter on fixed compute guests (median of runs), as a
// table and as JSON (bench/results.json). Guests live in bench/guests/*.asm (assembled with nasm).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../machine/machine.js';

const root = new URL('../..', import.meta.url).pathname;
const gdir = join(root, 'bench', 'guests');
const out = join(root, 'build', 'bench');
mkdirSync(out, { recursive: true });

function build(name: string): string {
  const src = join(gdir, name + '.asm');
  const bin = join(out, name + '.bin');
  const inc = join(gdir, 'mb.inc');
  if (!existsSync(bin) || statSync(bin).mtimeMs < Math.max(statSync(src).mtimeMs, statSync(inc).mtimeMs)) {
    execFileSync('nasm', ['-f', 'bin', '-I', gdir + '/', '-o', bin, src], { stdio: 'inherit' });
  }
  return bin;
}

interface Result { guest: string; instructions: number; medianSeconds: number; mips: number; runs: number[]; serial: string }

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const names = readdirSync(gdir).filter((f) => f.endsWith('.asm')).map((f) => f.replace(/\.asm$/, '')).sort();
const results: Result[] = [];
for (const name of names) {
  const image = new Uint8Array(readFileSync(build(name)));
  const times: number[] = [];
  let insns = 0, serial = '';
  for (let r = 0; r < RUNS; r++) {
    let s = '';
    const m = new Machine({ memBytes: 64 << 20, onSerial: (b) => { s += String.fromCharCode(b); } });
    m.loadKernel(image);
    const t0 = process.hrtime.bigint();
    const res = m.runToEnd(5e9);
    const t1 = process.hrtime.bigint();
    if (res.status !== 1) throw new Error(`bench guest ${name} failed: ${res.end} ${res.message}\n${s}`);
    times.push(Number(t1 - t0) / 1e9);
    insns = m.clock.insns; serial = s.trim();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)];
  results.push({ guest: name, instructions: insns, medianSeconds: med, mips: insns / med / 1e6, runs: times, serial });
}
console.log('guest        instructions   median s     MIPS   (runs: ' + RUNS + ')');
for (const r of results) {
  console.log(`${r.guest.padEnd(12)} ${String(r.instructions).padStart(12)} ${r.medianSeconds.toFixed(3).padStart(10)} ${r.mips.toFixed(1).padStart(8)}   output ${r.serial}`);
}
writeFileSync(join(root, 'build', 'bench', 'results.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2));
console.log(JSON.stringify({ bench: 'interpreter', results: results.map((r) => ({ guest: r.guest, mips: +r.mips.toFixed(1), instructions: r.instructions, medianSeconds: +r.medianSeconds.toFixed(3) })) }));
