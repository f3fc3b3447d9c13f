// `npm run bench` (second part): the cost of a VM-exit round trip — a guest executing CPUID in a
// loop, bare (a plain instruction) and hypervised (each CPUID exits to the hypervisor, which
// emulates it and resumes). Prints exits per second and the cost per exit (median of runs), and JSON.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../machine/machine.js';
import { Hypervisor, HOST_MEM_BYTES } from '../hypervisor/hypervisor.js';
import { buildBenchGuest } from './build.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const image = new Uint8Array(readFileSync(buildBenchGuest('cpuid')));

function once(hypervised: boolean): { seconds: number; exits: number; insns: number } {
  const m = new Machine({ memBytes: 64 << 20, onSerial: () => {}, hostMemBytes: hypervised ? HOST_MEM_BYTES : 0 });
  m.loadKernel(image);
  if (hypervised) new Hypervisor(m.vmx, m.mem).launch();
  const t0 = process.hrtime.bigint();
  const r = m.runToEnd(1e9);
  const t1 = process.hrtime.bigint();
  if (r.status !== 1) throw new Error(`cpuid bench guest failed: ${r.end} ${r.message}`);
  return { seconds: Number(t1 - t0) / 1e9, exits: m.vmx.exits, insns: m.clock.insns };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = Array.from({ length: RUNS }, () => once(false));
const hv = Array.from({ length: RUNS }, () => once(true));
const tBare = median(bare.map((r) => r.seconds)), tHv = median(hv.map((r) => r.seconds));
const exits = hv[0].exits;
const perExitUs = ((tHv - tBare) / exits) * 1e6;
console.log(`\nVM-exit round trip (CPUID loop, ${exits} exits; median of ${RUNS}):`);
console.log(`  bare        ${tBare.toFixed(3)} s`);
console.log(`  hypervised  ${tHv.toFixed(3)} s   ${(exits / tHv / 1e3).toFixed(1)} k exits/s   ${perExitUs.toFixed(2)} µs per exit round trip (beyond the bare CPUID)`);
console.log(JSON.stringify({ bench: 'vmexit', exits, bareSeconds: +tBare.toFixed(4), hypervisedSeconds: +tHv.toFixed(4), exitsPerSecond: Math.round(exits / tHv), microsecondsPerExit: +perExitUs.toFixed(3) }));
void join;
