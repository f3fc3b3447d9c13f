// Runner for the SingleStepTests 80286 real-mode conformance data (/work/shared/conformance/
// sst-80286-real, see its README): load one gzipped form file, run each test on a bare CPU in real
// mode until its HLT, and compare registers, FLAGS (under the form's flags-mask) and memory.

import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { SEG } from '../../machine/cpu/arch.js';
import { Stop } from '../../machine/cpu/state.js';
import type { Bare } from './cpu.js';

/** The data: $SST_DIR, else the workplace's shared folder beside the repository (../shared/conformance). */
const REPO = new URL('../../..', import.meta.url).pathname;
export const SST_DIR = process.env.SST_DIR ?? [join(REPO, '..', 'shared', 'conformance', 'sst-80286-real'), '/work/shared/conformance/sst-80286-real']
  .find((d) => existsSync(d)) ?? join(REPO, '..', 'shared', 'conformance', 'sst-80286-real');

export type RegName = 'ax' | 'bx' | 'cx' | 'dx' | 'cs' | 'ss' | 'ds' | 'es' | 'sp' | 'bp' | 'si' | 'di' | 'ip' | 'flags';
export type Regs = Partial<Record<RegName, number>>;
export interface SstState { regs: Regs; ram: [number, number][] }
export interface SstTest {
  idx: number; name: string; bytes: number[]; initial: SstState; final: SstState; hash: string;
  exception?: { number: number; flag_address: number };
}
export interface FormMeta { status: string; flagsMask: number }

/** r16 index of each general register (AX CX DX BX SP BP SI DI order in the register file). */
const GPR: Partial<Record<RegName, number>> = { ax: 0, cx: 2, dx: 4, bx: 6, sp: 8, bp: 10, si: 12, di: 14 };
const SREG: Partial<Record<RegName, number>> = { es: SEG.ES, cs: SEG.CS, ss: SEG.SS, ds: SEG.DS };
export const REG_NAMES: RegName[] = ['ax', 'bx', 'cx', 'dx', 'cs', 'ss', 'ds', 'es', 'sp', 'bp', 'si', 'di', 'ip'];

/**
 * FLAGS bits a 286 in real mode can hold: bits 12-15 (IOPL, NT, reserved) always read 0 there, and
 * bits 3 and 5 are reserved (0) on every x86. So the 286's initial FLAGS are the given value under
 * this mask, and only these bits are compared (the i686 lets POPF/IRET set IOPL and NT in real
 * mode, SDM Vol1 3.4.3; the 286 does not).
 */
export const FLAGS_286_REAL = 0x0fd7;

/** All forms in metadata.json, keyed like the file names ("F7.6", "0F" ...), with status and mask. */
export function loadMetadata(dir = SST_DIR): Map<string, FormMeta> {
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as {
    opcodes: Record<string, { status?: string; 'flags-mask'?: number; reg?: Record<string, { status?: string; 'flags-mask'?: number }> }>;
  };
  const out = new Map<string, FormMeta>();
  for (const [op, v] of Object.entries(meta.opcodes)) {
    if (v.reg) {
      for (const [r, w] of Object.entries(v.reg)) out.set(`${op}.${r}`, { status: w.status ?? 'normal', flagsMask: w['flags-mask'] ?? 0xffff });
    } else {
      out.set(op, { status: v.status ?? 'normal', flagsMask: v['flags-mask'] ?? 0xffff });
    }
  }
  return out;
}

export function loadRevoked(dir = SST_DIR): Set<string> {
  const p = join(dir, 'revocation_list.txt');
  if (!existsSync(p)) return new Set();
  return new Set(readFileSync(p, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
}

export function formFile(form: string, dir = SST_DIR): string { return join(dir, `${form}.json.gz`); }
export function loadForm(form: string, dir = SST_DIR): SstTest[] {
  return JSON.parse(gunzipSync(readFileSync(formFile(form, dir))).toString('utf8')) as SstTest[];
}

/** Load the test's initial state into the CPU and memory (real mode, selector × 16 bases). */
function setup(b: Bare, t: SstTest): void {
  const c = b.cpu;
  c.reset();
  const r = t.initial.regs;
  for (const k of REG_NAMES) {
    const v = r[k] ?? 0;
    const g = GPR[k];
    if (g !== undefined) c.r16[g] = v;
    const s = SREG[k];
    if (s !== undefined) c.loadSegReal(s, v);
  }
  c.eip = r.ip ?? 0;
  c.flags = ((r.flags ?? 0) & FLAGS_286_REAL) | 2;
  c.lazy = 0;
  for (const [a, v] of t.initial.ram) b.mem.write(a, 1, v);
}

/** Zero the bytes a test touched, so the next test starts from clean memory. */
export function cleanup(b: Bare, t: SstTest): void {
  for (const [a] of t.initial.ram) b.mem.write(a, 1, 0);
  for (const [a] of t.final.ram) b.mem.write(a, 1, 0);
}

/** Register value of the CPU by test name. */
function cpuReg(b: Bare, k: RegName): number {
  const c = b.cpu;
  if (k === 'ip') return c.eip & 0xffff;
  if (k === 'flags') return c.getEflags() & 0xffff;
  const g = GPR[k];
  if (g !== undefined) return c.r16[g];
  return c.segSel[SREG[k] as number];
}

export interface RunResult {
  /** null on a match, else a one-line description of the differences. */
  diff: string | null;
  /** Vector of the first exception/interrupt delivered while running (-1: none). */
  firstVector: number;
  stop: Stop;
}

let firstVector = -1;

/** Run the test's instruction (and its HLT) from the initial state, without comparing. */
export function execute(b: Bare, t: SstTest, budget = 200_000): { firstVector: number; stop: Stop } {
  setup(b, t);
  firstVector = -1;
  b.cpu.hooks.onEvent = (v) => { if (firstVector < 0) firstVector = v; };
  const stop = b.cpu.run(b.clock.insns + budget);
  b.cpu.hooks.onEvent = undefined;
  return { firstVector, stop };
}

/**
 * Run one test and compare. `flagsMask` is the form's flags-mask (undefined flag bits are cleared on
 * both sides); registers named in `keepRegs` are expected to keep their initial values instead of
 * the final ones (for documented 286 differences).
 */
export function runTest(b: Bare, t: SstTest, flagsMask: number, keepRegs: readonly RegName[] = []): RunResult {
  const { firstVector: fv, stop } = execute(b, t);
  const diffs: string[] = [];
  if (stop !== Stop.Halted) diffs.push(`stopped ${STOP_NAMES[stop] ?? stop}${b.cpu.stopMessage ? ` (${b.cpu.stopMessage})` : ''}`);
  const ini = t.initial.regs, fin = t.final.regs;
  for (const k of REG_NAMES) {
    const want = (keepRegs.includes(k) ? undefined : fin[k]) ?? ini[k] ?? 0;
    const got = cpuReg(b, k);
    if (got !== want) diffs.push(`${k}=${hex(got)} want ${hex(want)}`);
  }
  const fm = flagsMask & FLAGS_286_REAL;
  const wantF = (fin.flags ?? ini.flags ?? 0) & fm;
  const gotF = cpuReg(b, 'flags') & fm;
  if (wantF !== gotF) diffs.push(`flags=${hex(gotF)} want ${hex(wantF)} (xor ${hex(gotF ^ wantF)})`);
  // Memory: every byte named in initial or final; bytes only in initial must be unchanged.
  const want = new Map<number, number>();
  for (const [a, v] of t.initial.ram) want.set(a, v);
  for (const [a, v] of t.final.ram) want.set(a, v);
  // FLAGS pushed by an exception are compared under the same mask. They sit at the final SS:SP + 4
  // (IP, CS, FLAGS pushed in that order); the metadata's flag_address is off by one when SP is odd.
  let fa = -1;
  if (t.exception) {
    const ss = fin.ss ?? ini.ss ?? 0, sp = fin.sp ?? ini.sp ?? 0;
    fa = ss * 16 + ((sp + 4) & 0xffff);
  }
  const fa1 = t.exception ? (fin.ss ?? ini.ss ?? 0) * 16 + (((fin.sp ?? ini.sp ?? 0) + 5) & 0xffff) : -1;
  for (const [a, v] of want) {
    let got = b.mem.read(a, 1), exp = v;
    if (a === fa) { got &= fm & 0xff; exp &= fm & 0xff; }
    else if (a === fa1) { got &= fm >>> 8; exp &= fm >>> 8; }
    if (got !== exp) diffs.push(`[${hex(a)}]=${hex(got)} want ${hex(exp)}`);
  }
  return { diff: diffs.length === 0 ? null : diffs.join(', '), firstVector: fv, stop };
}

const STOP_NAMES = ['None', 'Budget', 'Halted', 'TripleFault', 'Shutdown', 'Unsupported', 'Breakpoint', 'Requested'];

function hex(v: number): string { return v.toString(16); }
