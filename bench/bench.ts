// `npm run bench`: guest MIPS of the interpreter on fixed compute guests (median of runs), as a
// table and as JSON (bench/results.json). Guests live in bench/guests/*.asm (assembled with nasm).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Machine } from '../machine/machine.js';
import { Hypervisor, HOST_MEM_BYTES } from '../hypervisor/hypervisor.js';
import { RECOMMENDED_CMDLINE } from '../machine/boot/linux.js';
import { INIT_READY_MARKER } from '../machine/boot/initramfs.js';

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

// ---- Linux boot (Linux-guest helper): Debian's 686-pae kernel + busybox initramfs from
// cache/linux/ (scripts/fetch-linux.mjs), booted with RECOMMENDED_CMDLINE until /init prints its
// marker, bare and under the hypervisor: wall seconds, guest instructions, average guest MIPS.
// BENCH_LINUX_RUNS runs each (default 1; the figure is the median), BENCH_LINUX=0 leaves it out.
interface LinuxBoot { mode: 'bare' | 'hypervised'; instructions: number; medianSeconds: number; mips: number; runs: number[]; cpuSeconds: number[] }
const linux: LinuxBoot[] = [];
const LINUX_RUNS = Number(process.env.BENCH_LINUX_RUNS ?? 1);
if (process.env.BENCH_LINUX !== '0') {
  const f = spawnSync('node', [join(root, 'scripts', 'fetch-linux.mjs'), '--quiet'], { stdio: 'inherit' });
  if (f.status !== 0) {
    console.log(`linux boot: not measured (fetch-linux failed with status ${f.status}; see above)`);
  } else {
    const ldir = join(root, 'cache', 'linux');
    const kernel = new Uint8Array(readFileSync(join(ldir, 'bzImage')));
    const initrd = new Uint8Array(readFileSync(join(ldir, 'initramfs.cpio.gz')));
    for (const hv of [false, true]) {
      const times: number[] = [], cpu: number[] = [];
      let insns = 0;
      for (let r = 0; r < LINUX_RUNS; r++) {
        let out = '';
        const m = new Machine({ memBytes: 128 << 20, onSerial: (b) => { out += String.fromCharCode(b); }, hostMemBytes: hv ? HOST_MEM_BYTES : 0 });
        m.loadLinux(kernel, { cmdline: RECOMMENDED_CMDLINE, initrd });
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        if (hv) new Hypervisor(m.vmx, m.mem).launch();
        let seen = 0;
        for (;;) {
          const res = m.runSlice(1_000_000, 1e10);
          if (out.indexOf(INIT_READY_MARKER, seen) >= 0) break;
          seen = Math.max(0, out.length - INIT_READY_MARKER.length);
          if (res || m.idle) throw new Error(`linux boot (${hv ? 'hypervised' : 'bare'}) stopped before the marker: ${res ? res.message : 'idle'}\n${out.slice(-1500)}`);
        }
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        const c1 = process.cpuUsage(c0);
        cpu.push((c1.user + c1.system) / 1e6);
        insns = m.clock.insns;
      }
      const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
      linux.push({ mode: hv ? 'hypervised' : 'bare', instructions: insns, medianSeconds: med, mips: insns / med / 1e6, runs: times, cpuSeconds: cpu });
    }
    console.log(`\nlinux boot to ${INIT_READY_MARKER} (${LINUX_RUNS} run${LINUX_RUNS > 1 ? 's' : ''} each, 1e6-instruction slices)`);
    console.log('mode          instructions   median s     MIPS   runs (wall s / CPU s)');
    for (const l of linux) {
      console.log(`${l.mode.padEnd(12)} ${String(l.instructions).padStart(13)} ${l.medianSeconds.toFixed(1).padStart(10)} ${l.mips.toFixed(1).padStart(8)}   ${l.runs.map((t, k) => `${t.toFixed(1)}/${l.cpuSeconds[k].toFixed(1)}`).join(' ')}`);
    }
  }
}

writeFileSync(join(root, 'build', 'bench', 'results.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), results, linux }, null, 2));
console.log(JSON.stringify({ bench: 'interpreter', results: results.map((r) => ({ guest: r.guest, mips: +r.mips.toFixed(1), instructions: r.instructions, medianSeconds: +r.medianSeconds.toFixed(3) })),
  linux: linux.map((l) => ({ mode: l.mode, instructions: l.instructions, medianSeconds: +l.medianSeconds.toFixed(2), mips: +l.mips.toFixed(1) })) }));
