// 32-bit forms of the integer families that the 80286 conformance data cannot cover: MUL/IMUL/
// DIV/IDIV with 64-bit products and dividends, SHLD/SHRD, BSF/BSR, BT* with signed register
// offsets into memory, CMPXCHG/CMPXCHG8B, XADD, 32-bit shifts/rotates, AAM/AAD bases, ARPL.
// Expected values are worked out by hand from the SDM (shown next to each case), or computed by an
// independent BigInt reference model in the test itself (never by the code under test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { Stop } from '../machine/cpu/state.js';
import { EFLAGS, EXC } from '../machine/cpu/arch.js';

const CF = EFLAGS.CF, PF = EFLAGS.PF, AF = EFLAGS.AF, ZF = EFLAGS.ZF, SF = EFLAGS.SF, OF = EFLAGS.OF;
const OSZAPC = CF | PF | AF | ZF | SF | OF;
const CODE = 0x1000;

/** Assemble with nasm (bits 32 or 16, org CODE), appending HLT. */
function asm(src: string, bits = 32): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsv-int-'));
  try {
    writeFileSync(join(dir, 'a.asm'), `bits ${bits}\norg ${CODE}\n${src}\nhlt\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
    return readFileSync(join(dir, 'a.bin'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const R = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 } as const;
type RegName = keyof typeof R;
interface Run { b: Bare; stop: Stop; vector: number; eipAtEvent: number; regsAtEvent: Int32Array }

/** Run `src` in flat 32-bit mode with the given registers, EFLAGS and memory dwords. */
function run(src: string, regs: Partial<Record<RegName, number>> = {}, opts: { flags?: number; mem?: Record<number, number>; real?: boolean } = {}): Run {
  const b = makeCpu();
  if (opts.real) setupReal(b.cpu, 0, CODE); else setupFlat32(b.cpu, CODE);
  poke(b, CODE, asm(src, opts.real ? 16 : 32));
  for (const [k, v] of Object.entries(regs)) b.cpu.r32[R[k as RegName]] = v;
  if (opts.flags !== undefined) { b.cpu.flags = opts.flags | 2; b.cpu.lazy = 0; }
  for (const [a, v] of Object.entries(opts.mem ?? {})) w32(b, Number(a), v);
  const out: Run = { b, stop: Stop.None, vector: -1, eipAtEvent: -1, regsAtEvent: new Int32Array(8) };
  b.cpu.hooks.onEvent = (v) => {
    if (out.vector >= 0) return;
    out.vector = v; out.eipAtEvent = b.cpu.eip; out.regsAtEvent.set(b.cpu.r32.subarray(0, 8));
  };
  out.stop = runToHlt(b, 10_000);
  return out;
}
function w32(b: Bare, a: number, v: number): void { const m = b.mem.ram; m[a] = v; m[a + 1] = v >>> 8; m[a + 2] = v >>> 16; m[a + 3] = v >>> 24; }
function r32(b: Bare, a: number): number { const m = b.mem.ram; return (m[a] | (m[a + 1] << 8) | (m[a + 2] << 16) | (m[a + 3] << 24)) >>> 0; }
const reg = (r: Run, k: RegName): number => r.b.cpu.r32[R[k]] >>> 0;
const flags = (r: Run): number => r.b.cpu.getEflags() & OSZAPC;

function halted(r: Run): void { assert.equal(r.stop, Stop.Halted); assert.equal(r.vector, -1, `unexpected exception ${r.vector}`); }
/** The instruction at CODE raised `vector` with the registers unchanged from `regs`. */
function faulted(r: Run, vector: number, regs: Partial<Record<RegName, number>>, eip = CODE): void {
  assert.equal(r.vector, vector);
  assert.equal(r.eipAtEvent, eip, 'EIP points at the faulting instruction');
  for (const [k, v] of Object.entries(regs)) assert.equal(r.regsAtEvent[R[k as RegName]] >>> 0, v >>> 0, `${k} unchanged`);
}

// ------------------------------------------------------------------ MUL / IMUL
test('MUL r/m32: FFFFFFFF·FFFFFFFF = FFFFFFFE_00000001, CF=OF=1', () => {
  const r = run('mul ecx', { eax: -1, ecx: -1 });
  halted(r);
  assert.equal(reg(r, 'edx'), 0xfffffffe); assert.equal(reg(r, 'eax'), 0x00000001);
  assert.equal(flags(r) & (CF | OF), CF | OF);
});
test('MUL r/m32 with a product that fits: CF=OF=0, EDX=0', () => {
  const r = run('mul dword [0x2000]', { eax: 0x10000, edx: 0x1234 }, { mem: { 0x2000: 0xffff } });
  halted(r);
  assert.equal(reg(r, 'eax'), 0xffff0000); assert.equal(reg(r, 'edx'), 0);
  assert.equal(flags(r) & (CF | OF), 0);
});
test('IMUL r/m32 (one operand): signed 64-bit products', () => {
  // (-2^31)·(-2^31) = 2^62 = 40000000_00000000: does not fit 32 bits → CF=OF=1
  let r = run('imul ecx', { eax: 0x80000000, ecx: 0x80000000 });
  halted(r);
  assert.equal(reg(r, 'edx'), 0x40000000); assert.equal(reg(r, 'eax'), 0);
  assert.equal(flags(r) & (CF | OF), CF | OF);
  // (-1)·1 = -1: EDX:EAX = FFFFFFFF_FFFFFFFF, fits (EDX is the sign extension) → CF=OF=0
  r = run('imul ecx', { eax: -1, ecx: 1 });
  assert.equal(reg(r, 'edx'), 0xffffffff); assert.equal(reg(r, 'eax'), 0xffffffff);
  assert.equal(flags(r) & (CF | OF), 0);
  // 0x7FFFFFFF·(-2) = -0xFFFFFFFE = FFFFFFFF_00000002; EAX = 2 is positive → CF=OF=1
  r = run('imul ecx', { eax: 0x7fffffff, ecx: -2 });
  assert.equal(reg(r, 'edx'), 0xffffffff); assert.equal(reg(r, 'eax'), 2);
  assert.equal(flags(r) & (CF | OF), CF | OF);
});
test('IMUL r32, r/m32 and the three-operand forms truncate and set CF=OF on overflow', () => {
  let r = run('imul eax, ecx', { eax: 0x10000, ecx: 0x10000 }); // 2^32 → 0, overflow
  halted(r); assert.equal(reg(r, 'eax'), 0); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('imul eax, ecx', { eax: 0x80000000, ecx: -1 }); // 2^31 → 80000000, overflow
  assert.equal(reg(r, 'eax'), 0x80000000); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('imul eax, ecx', { eax: -46341, ecx: 46341 }); // -2147488281 < -2^31 → overflow
  assert.equal(reg(r, 'eax'), ((-46341 * 46341) >>> 0)); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('imul eax, ecx', { eax: -46340, ecx: 46340 }); // -2147395600 fits
  assert.equal(reg(r, 'eax'), (-2147395600) >>> 0); assert.equal(flags(r) & (CF | OF), 0);
  r = run('imul edx, ecx, -2', { ecx: 0x40000000 }); // -2^31 fits exactly
  assert.equal(reg(r, 'edx'), 0x80000000); assert.equal(flags(r) & (CF | OF), 0);
  r = run('imul edx, [0x2000], 0x12345', { }, { mem: { 0x2000: 0x10000 } }); // 0x123450000 → 23450000
  assert.equal(reg(r, 'edx'), 0x23450000); assert.equal(flags(r) & (CF | OF), CF | OF);
});

/** Deterministic 32-bit PRNG (xorshift) for the reference-model cross-checks. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
test('MUL/IMUL r/m32 match a BigInt reference model on 300 pseudo-random operand pairs', () => {
  const next = rng(12345);
  const b = makeCpu();
  const code = asm('mul ecx\nmov esi, eax\nmov edi, edx\nmov eax, ebx\nimul ecx');
  for (let k = 0; k < 300; k++) {
    // Mix of edge-heavy values: full random, small, near powers of two.
    const pick = (): number => { const v = next(); return k % 3 === 0 ? v : k % 3 === 1 ? v & 0xffff : (v & 1 ? 0x80000000 : 0x7fffffff) ^ (v & 0xff); };
    const a = pick() >>> 0, c = pick() >>> 0;
    setupFlat32(b.cpu, CODE); poke(b, CODE, code);
    b.cpu.r32[0] = a; b.cpu.r32[3] = a; b.cpu.r32[1] = c;
    assert.equal(runToHlt(b, 100), Stop.Halted);
    const pu = BigInt(a) * BigInt(c);
    assert.equal(b.cpu.r32[6] >>> 0, Number(pu & 0xffffffffn), `mul lo ${a.toString(16)}·${c.toString(16)}`);
    assert.equal(b.cpu.r32[7] >>> 0, Number(pu >> 32n), `mul hi ${a.toString(16)}·${c.toString(16)}`);
    const ps = BigInt.asUintN(64, BigInt(a | 0) * BigInt(c | 0));
    assert.equal(b.cpu.r32[0] >>> 0, Number(ps & 0xffffffffn), `imul lo ${a.toString(16)}·${c.toString(16)}`);
    assert.equal(b.cpu.r32[2] >>> 0, Number(ps >> 32n), `imul hi ${a.toString(16)}·${c.toString(16)}`);
    const fits = BigInt(a | 0) * BigInt(c | 0) === BigInt(Math.imul(a, c));
    assert.equal((b.cpu.getEflags() & CF) !== 0, !fits, 'imul CF');
  }
});

// ------------------------------------------------------------------ DIV / IDIV
test('DIV r/m32: 64-bit dividends, largest quotient and remainder', () => {
  let r = run('div ecx', { edx: 1, eax: 0, ecx: 2 }); // 2^32 / 2 = 2^31 r 0
  halted(r); assert.equal(reg(r, 'eax'), 0x80000000); assert.equal(reg(r, 'edx'), 0);
  // FFFFFFFE_FFFFFFFF = (2^32-1)^2 + (2^32-2): quotient FFFFFFFF, remainder FFFFFFFE
  r = run('div ecx', { edx: 0xfffffffe, eax: 0xffffffff, ecx: 0xffffffff });
  halted(r); assert.equal(reg(r, 'eax'), 0xffffffff); assert.equal(reg(r, 'edx'), 0xfffffffe);
  // 0x12345678_9ABCDEF0 / 0x87654321 (hand long division, checked by multiplication below)
  r = run('div dword [0x2000]', { edx: 0x12345678, eax: 0x9abcdef0 }, { mem: { 0x2000: 0x87654321 } });
  halted(r);
  const q = BigInt(reg(r, 'eax')), rem = BigInt(reg(r, 'edx'));
  assert.equal(q * 0x87654321n + rem, 0x123456789abcdef0n); assert.ok(rem < 0x87654321n);
});
test('DIV r/m32 raises #DE on a zero divisor and on quotient overflow, registers untouched', () => {
  faulted(run('div ecx', { edx: 0, eax: 5, ecx: 0 }), EXC.DE, { eax: 5, edx: 0, ecx: 0 });
  // EDX = divisor: quotient ≥ 2^32
  faulted(run('div ecx', { edx: 2, eax: 0, ecx: 2 }), EXC.DE, { eax: 0, edx: 2, ecx: 2 });
  faulted(run('div ecx', { edx: 0xffffffff, eax: 0xffffffff, ecx: 0xffffffff }), EXC.DE, { eax: 0xffffffff, edx: 0xffffffff });
});
test('IDIV r/m32: truncation toward zero, remainder has the dividend\'s sign, quotient -2^31 allowed', () => {
  let r = run('idiv ecx', { edx: -1, eax: -7, ecx: 2 }); // -7 / 2 = -3 r -1
  halted(r); assert.equal(reg(r, 'eax'), 0xfffffffd); assert.equal(reg(r, 'edx'), 0xffffffff);
  r = run('idiv ecx', { edx: 0, eax: 7, ecx: -2 }); // 7 / -2 = -3 r 1
  halted(r); assert.equal(reg(r, 'eax'), 0xfffffffd); assert.equal(reg(r, 'edx'), 1);
  r = run('idiv ecx', { edx: -1, eax: 0, ecx: 2 }); // -2^32 / 2 = -2^31 r 0 (fits)
  halted(r); assert.equal(reg(r, 'eax'), 0x80000000); assert.equal(reg(r, 'edx'), 0);
  // (2^62 - 2^32) / (2^31 - 1): (2^31-2)(2^31-1) = 2^62 - 3·2^31 + 2, so q = 7FFFFFFE, r = 2^31 - 2 = 7FFFFFFE
  r = run('idiv ecx', { edx: 0x3fffffff, eax: 0, ecx: 0x7fffffff });
  halted(r); assert.equal(reg(r, 'eax'), 0x7ffffffe); assert.equal(reg(r, 'edx'), 0x7ffffffe);
});
test('IDIV r/m32 raises #DE: 0x80000000 / -1, zero divisor, |quotient| ≥ 2^31', () => {
  faulted(run('cdq\nidiv ecx', { eax: 0x80000000, ecx: -1 }), EXC.DE, { eax: 0x80000000, edx: 0xffffffff, ecx: 0xffffffff }, CODE + 1);
  faulted(run('idiv ecx', { edx: 0, eax: 1, ecx: 0 }), EXC.DE, { eax: 1, edx: 0 });
  faulted(run('idiv ecx', { edx: 0, eax: 0x80000000, ecx: 1 }), EXC.DE, { eax: 0x80000000 }); // +2^31
  faulted(run('idiv ecx', { edx: 0xc0000000, eax: 0, ecx: 0x80000000 }), EXC.DE, { edx: 0xc0000000 }); // -2^62 / -2^31 = 2^31
  faulted(run('idiv ecx', { edx: 0x80000000, eax: 0, ecx: 0x80000000 }), EXC.DE, { edx: 0x80000000 }); // -2^63 / -2^31 = 2^32
});
test('DIV/IDIV r/m32 match a BigInt reference model on 300 pseudo-random cases (incl. #DE)', () => {
  const next = rng(777);
  const b = makeCpu();
  const divCode = asm('div ecx'), idivCode = asm('idiv ecx');
  for (let k = 0; k < 300; k++) {
    const signed = (k & 1) === 1;
    const hi = k % 5 === 0 ? next() >>> 0 : next() & 0xff;
    const lo = next() >>> 0;
    const d = k % 7 === 0 ? next() & 0xf : next() >>> (k % 31);
    setupFlat32(b.cpu, CODE); poke(b, CODE, signed ? idivCode : divCode);
    b.cpu.r32[2] = hi; b.cpu.r32[0] = lo; b.cpu.r32[1] = d;
    let vec = -1;
    b.cpu.hooks.onEvent = (v) => { if (vec < 0) vec = v; };
    runToHlt(b, 100);
    const n = (BigInt(hi) << 32n) | BigInt(lo);
    let want: [bigint, bigint] | null = null;
    if (d !== 0) {
      if (!signed) { const q = n / BigInt(d); if (q <= 0xffffffffn) want = [q, n % BigInt(d)]; }
      else {
        const ns = BigInt.asIntN(64, n), ds = BigInt(d | 0);
        const q = ns / ds; // BigInt division truncates toward zero, like IDIV
        if (q >= -0x80000000n && q <= 0x7fffffffn) want = [q, ns % ds];
      }
    }
    const what = `${signed ? 'idiv' : 'div'} ${hi.toString(16)}:${lo.toString(16)} / ${(d >>> 0).toString(16)}`;
    if (want === null) { assert.equal(vec, EXC.DE, `${what} → #DE`); continue; }
    assert.equal(vec, -1, `${what}: no exception`);
    assert.equal(b.cpu.r32[0] >>> 0, Number(BigInt.asUintN(32, want[0])), `${what}: quotient`);
    assert.equal(b.cpu.r32[2] >>> 0, Number(BigInt.asUintN(32, want[1])), `${what}: remainder`);
  }
});

// ------------------------------------------------------------------ shifts and rotates, 32-bit
test('32-bit shifts: count masked to 5 bits, CF = last bit out, count 0 leaves flags', () => {
  let r = run('shl eax, cl', { eax: 0x80000001, ecx: 33 }); // count 33 → 1: 00000002, CF=1, OF = CF^MSB = 1
  halted(r); assert.equal(reg(r, 'eax'), 2); assert.equal(flags(r) & (CF | OF | ZF | SF), CF | OF);
  r = run('sar eax, 31', { eax: 0x80000000 }); // FFFFFFFF, CF = bit 30 = 0
  assert.equal(reg(r, 'eax'), 0xffffffff); assert.equal(flags(r) & (CF | SF | ZF | PF), SF | PF);
  r = run('shr eax, 1', { eax: 0x80000001 }); // 40000000, CF=1, OF = old MSB = 1
  assert.equal(reg(r, 'eax'), 0x40000000); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('shl eax, cl', { eax: 0x1234, ecx: 32 }, { flags: OSZAPC }); // count 32 → 0: nothing changes
  assert.equal(reg(r, 'eax'), 0x1234); assert.equal(flags(r), OSZAPC);
  r = run('rol eax, 4', { eax: 0x12345678 }, { flags: ZF | SF | AF | PF }); // 23456781, CF = LSB = 1; rotates keep SZAP
  assert.equal(reg(r, 'eax'), 0x23456781); assert.equal(flags(r) & ~OF, ZF | SF | AF | PF | CF);
  r = run('ror eax, 8', { eax: 0x12345678 }); // 78123456, CF = MSB = 0
  assert.equal(reg(r, 'eax'), 0x78123456); assert.equal(flags(r) & CF, 0);
  r = run('ror eax, 1', { eax: 0x00000001 }); // 80000000, CF = 1, OF = bit31 XOR bit30 = 1
  assert.equal(reg(r, 'eax'), 0x80000000); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('stc\nrcl eax, 1', { eax: 0x80000000 }); // 00000001, CF=1, OF = CF^MSB = 1
  assert.equal(reg(r, 'eax'), 1); assert.equal(flags(r) & (CF | OF), CF | OF);
  r = run('stc\nrcr eax, 31', { eax: 0x00000001 }); // 33-bit rotate right by 31 = left by 2: CF:EAX = 1:00000001 → 0:00000006? 
  // By the SDM loop: 31 times {tmp = LSB; EAX = (EAX >> 1) | (CF << 31); CF = tmp}. The 33-bit value CF:EAX = 1_00000001
  // rotated right by 31 equals rotated left by 2: 0_00000006 → EAX = 6, CF = 0.
  assert.equal(reg(r, 'eax'), 6); assert.equal(flags(r) & CF, 0);
});

// ------------------------------------------------------------------ SHLD / SHRD
test('SHLD/SHRD r/m32: bits come from the source, CF = last bit out of the destination', () => {
  let r = run('shld eax, ebx, 4', { eax: 0x12345678, ebx: 0x9abcdef0 }); // 23456789, CF = bit 28 of EAX = 1
  halted(r); assert.equal(reg(r, 'eax'), 0x23456789); assert.equal(reg(r, 'ebx'), 0x9abcdef0); assert.equal(flags(r) & (CF | ZF | SF), CF);
  r = run('shrd eax, ebx, 8', { eax: 0x12345678, ebx: 0x9abcdef0 }); // F0123456, CF = bit 7 = 0, SF=1
  assert.equal(reg(r, 'eax'), 0xf0123456); assert.equal(flags(r) & (CF | ZF | SF), SF);
  r = run('shld [0x2000], ebx, cl', { ebx: 0x80000000, ecx: 1 }, { mem: { 0x2000: 0x40000000 } }); // 80000001, CF=0, OF (sign change) = 1
  assert.equal(r32(r.b, 0x2000), 0x80000001); assert.equal(flags(r) & (CF | OF), OF);
  r = run('shrd eax, ebx, cl', { eax: 0x00000003, ebx: 0, ecx: 1 }); // 00000001, CF = 1, OF = 0
  assert.equal(reg(r, 'eax'), 1); assert.equal(flags(r) & (CF | OF), CF);
  r = run('shld eax, ebx, cl', { eax: 0x1234, ebx: -1, ecx: 0x20 }, { flags: CF | ZF }); // count 32 & 31 = 0: no change
  assert.equal(reg(r, 'eax'), 0x1234); assert.equal(flags(r), CF | ZF);
  r = run('shrd eax, ebx, 31', { eax: 0x80000000, ebx: 0x00000001 }); // (1:80000000) >> 31 = 00000003, CF = bit 30 = 0
  assert.equal(reg(r, 'eax'), 3); assert.equal(flags(r) & CF, 0);
});
test('SHLD/SHRD r/m16 with counts 17-31 shift the 48-bit dest:src:dest (P6 behaviour)', () => {
  // X = 1234_5678_1234h. SHLD by 20 keeps bits 27..12 of X = 6781h, CF = bit 28 = 1.
  // SHRD by 20 keeps bits 35..20 of X = 4567h, CF = bit 19 = 1.
  let r = run('shld ax, bx, 20', { eax: 0x1234, ebx: 0x5678 });
  halted(r); assert.equal(reg(r, 'eax') & 0xffff, 0x6781); assert.equal(flags(r) & CF, CF);
  r = run('shrd ax, bx, 20', { eax: 0x1234, ebx: 0x5678 });
  assert.equal(reg(r, 'eax') & 0xffff, 0x4567); assert.equal(flags(r) & CF, CF);
  // Counts ≤ 16 are architectural: SHLD AX,BX,16 = BX; SHRD AX,BX,4 = 8123h with CF = bit 3 of AX = 0.
  r = run('shld ax, bx, 16', { eax: 0x1234, ebx: 0x5678 }); assert.equal(reg(r, 'eax') & 0xffff, 0x5678); assert.equal(flags(r) & CF, 0);
  r = run('shrd ax, bx, 4', { eax: 0x1234, ebx: 0x5678 }); assert.equal(reg(r, 'eax') & 0xffff, 0x8123); assert.equal(flags(r) & CF, 0);
});

// ------------------------------------------------------------------ BSF / BSR
test('BSF/BSR: lowest/highest set bit; zero source sets ZF and keeps the destination', () => {
  let r = run('bsf eax, ecx', { eax: 0xdeadbeef, ecx: 0x00018000 }); halted(r); assert.equal(reg(r, 'eax'), 15); assert.equal(flags(r) & ZF, 0);
  r = run('bsr eax, ecx', { ecx: 0x00018000 }); assert.equal(reg(r, 'eax'), 16); assert.equal(flags(r) & ZF, 0);
  r = run('bsr eax, ecx', { ecx: 0x80000001 }); assert.equal(reg(r, 'eax'), 31);
  r = run('bsf eax, ecx', { ecx: 0x80000000 }); assert.equal(reg(r, 'eax'), 31);
  r = run('bsf eax, ecx', { eax: 0xdeadbeef, ecx: 0 }); assert.equal(reg(r, 'eax'), 0xdeadbeef); assert.equal(flags(r) & ZF, ZF);
  r = run('bsr eax, [0x2000]', { eax: 0xdeadbeef }, { mem: { 0x2000: 0 } }); assert.equal(reg(r, 'eax'), 0xdeadbeef); assert.equal(flags(r) & ZF, ZF);
  r = run('bsr ax, cx', { eax: 0x11112222, ecx: 0x00000100 }); assert.equal(reg(r, 'eax'), 0x11110008);
});

// ------------------------------------------------------------------ BT BTS BTR BTC
test('BT* with a register offset on memory address bits below and above the operand (signed offset)', () => {
  // offset -1: dword at 0x2004 + 4·(-1 >> 5) = 0x2000, bit 31
  let r = run('bt dword [0x2004], eax', { eax: -1 }, { mem: { 0x2000: 0x80000000 } });
  halted(r); assert.equal(flags(r) & CF, CF);
  // offset -33: dword at 0x2004 - 8 = 0x1FFC, bit 31; BTS sets it
  r = run('bts dword [0x2004], eax', { eax: -33 }, { mem: { 0x1ffc: 0 } });
  assert.equal(flags(r) & CF, 0); assert.equal(r32(r.b, 0x1ffc), 0x80000000); assert.equal(r32(r.b, 0x2004), 0);
  // offset 100: dword at 0x2000 + 12, bit 4; BTR clears it
  r = run('btr dword [0x2000], ecx', { ecx: 100 }, { mem: { 0x200c: 0xffffffff } });
  assert.equal(flags(r) & CF, CF); assert.equal(r32(r.b, 0x200c), 0xffffffef);
  // 16-bit: offset 0xFFFF = -1: word at 0x2004 - 2 = 0x2002, bit 15; BTC flips it
  r = run('btc word [0x2004], ax', { eax: 0xffff }, { mem: { 0x2000: 0 } });
  assert.equal(flags(r) & CF, 0); assert.equal(r32(r.b, 0x2000), 0x80000000);
  // register operand: offset taken modulo 32
  r = run('bts ecx, eax', { eax: 35, ecx: 0 }); assert.equal(reg(r, 'ecx'), 8); assert.equal(flags(r) & CF, 0);
  // immediate offset on memory: modulo the operand size, no address adjustment (bit 3 of [0x2000])
  r = run('bt dword [0x2000], 35', {}, { mem: { 0x2000: 8, 0x2004: 0 } }); assert.equal(flags(r) & CF, CF);
  // BT leaves the other status flags alone
  r = run('bt eax, 0', { eax: 1 }, { flags: ZF | SF | OF }); assert.equal(flags(r), ZF | SF | OF | CF);
});

// ------------------------------------------------------------------ CMPXCHG / CMPXCHG8B / XADD
test('CMPXCHG r/m32: equal → store source, ZF=1; different → load accumulator, ZF=0', () => {
  let r = run('cmpxchg [0x2000], ecx', { eax: 5, ecx: 9 }, { mem: { 0x2000: 5 } });
  halted(r); assert.equal(r32(r.b, 0x2000), 9); assert.equal(reg(r, 'eax'), 5); assert.equal(flags(r) & ZF, ZF);
  r = run('cmpxchg [0x2000], ecx', { eax: 4, ecx: 9 }, { mem: { 0x2000: 5 } }); // CMP 4,5: CF=1 SF=1 AF=1
  assert.equal(r32(r.b, 0x2000), 5); assert.equal(reg(r, 'eax'), 5); assert.equal(flags(r), CF | SF | AF | PF);
  r = run('cmpxchg ebx, ecx', { eax: 0x80000000, ebx: 0x80000000, ecx: 1 });
  assert.equal(reg(r, 'ebx'), 1); assert.equal(flags(r) & ZF, ZF);
});
test('CMPXCHG8B m64: compare EDX:EAX, store ECX:EBX or load m64; only ZF changes; register form is #UD', () => {
  const mem = { 0x2000: 0x22222222, 0x2004: 0x11111111 };
  let r = run('cmpxchg8b [0x2000]', { edx: 0x11111111, eax: 0x22222222, ecx: 0xcccccccc, ebx: 0xbbbbbbbb }, { mem, flags: CF | SF });
  halted(r);
  assert.equal(r32(r.b, 0x2000), 0xbbbbbbbb); assert.equal(r32(r.b, 0x2004), 0xcccccccc);
  assert.equal(flags(r), CF | SF | ZF);
  r = run('cmpxchg8b [0x2000]', { edx: 0x11111111, eax: 0x22222223, ecx: 0xcccccccc, ebx: 0xbbbbbbbb }, { mem, flags: ZF | OF });
  assert.equal(r32(r.b, 0x2000), 0x22222222); assert.equal(r32(r.b, 0x2004), 0x11111111);
  assert.equal(reg(r, 'eax'), 0x22222222); assert.equal(reg(r, 'edx'), 0x11111111);
  assert.equal(flags(r), OF);
  // 0F C7 C8 = cmpxchg8b with a register operand: #UD
  faulted(run('db 0x0f, 0xc7, 0xc8'), EXC.UD, {});
});
test('XADD: destination gets the sum, source the old destination, flags of the addition', () => {
  let r = run('xadd [0x2000], ecx', { ecx: 7 }, { mem: { 0x2000: 5 } });
  halted(r); assert.equal(r32(r.b, 0x2000), 12); assert.equal(reg(r, 'ecx'), 5); assert.equal(flags(r), PF);
  r = run('xadd eax, ecx', { eax: 0x7fffffff, ecx: 1 }); // 80000000: OF SF AF, PF (low byte 00)
  assert.equal(reg(r, 'eax'), 0x80000000); assert.equal(reg(r, 'ecx'), 0x7fffffff); assert.equal(flags(r), OF | SF | AF | PF);
  r = run('xadd eax, eax', { eax: 3 }); // TEMP = 6; SRC = 3; DEST = 6 → EAX = 6
  assert.equal(reg(r, 'eax'), 6);
  r = run('xadd bl, cl', { ebx: 0xff, ecx: 1 }); // 8-bit: 00, CF ZF AF PF
  assert.equal(reg(r, 'ebx'), 0); assert.equal(reg(r, 'ecx'), 0xff); assert.equal(flags(r), CF | ZF | AF | PF);
});

// ------------------------------------------------------------------ AAM / AAD bases, ARPL
test('AAM/AAD with any imm8 base; AAM 0 raises #DE', () => {
  let r = run('aam 16', { eax: 0x3f }); halted(r); assert.equal(reg(r, 'eax') & 0xffff, 0x030f);
  r = run('aad 16', { eax: 0x030f }); assert.equal(reg(r, 'eax') & 0xffff, 0x003f);
  r = run('aam', { eax: 99 }); assert.equal(reg(r, 'eax') & 0xffff, 0x0909);
  faulted(run('aam 0', { eax: 0x1234 }), EXC.DE, { eax: 0x1234 });
});
test('ARPL: #UD in real mode; in protected mode raises RPL and sets ZF', () => {
  faulted(run('arpl ax, bx', { eax: 8, ebx: 3 }, { real: true }), EXC.UD, { eax: 8 });
  let r = run('arpl ax, bx', { eax: 0x0008, ebx: 0x0003 }); halted(r); assert.equal(reg(r, 'eax'), 0x000b); assert.equal(flags(r) & ZF, ZF);
  r = run('arpl ax, bx', { eax: 0x000b, ebx: 0x0001 }); assert.equal(reg(r, 'eax'), 0x000b); assert.equal(flags(r) & ZF, 0);
});
