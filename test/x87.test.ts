// x87 FPU tests (formats and the arithmetic reference: x87-formats.test.ts): instruction sequences assembled with nasm and run on the bare CPU in flat 32-bit protected mode
// (a GDT and an IDT whose 32 exception vectors go to HLT stubs), or in real mode for the real-mode
// environment layouts. Expected values come from the SDM (encodings, layouts, flag rules) and from
// IEEE 754 arithmetic done by hand or with known constants, never from the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { CR0, CR4 } from '../machine/cpu/arch.js';
import { Stop } from '../machine/cpu/state.js';

// ------------------------------------------------------------------ harness
const tmp = mkdtempSync(join(tmpdir(), 'x87-'));
let asmCount = 0;
function asm(src: string, bits: 16 | 32 = 32, org = 0x1000): Uint8Array {
  const f = join(tmp, `a${asmCount++}`);
  writeFileSync(f + '.asm', `bits ${bits}\norg ${org}\n${src}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', f + '.bin', f + '.asm']);
  return new Uint8Array(readFileSync(f + '.bin'));
}

const GDT = 0x10000, IDT = 0x11000, STUBS = 0x3000;
/** Flat protected mode with a GDT (08 code, 10 data) and IDT vectors 0-31 → HLT stubs at 3000h + 4·v. */
function pm(src: string, cr0 = CR0.NE | CR0.MP): Bare {
  const b = makeCpu();
  const cpu = b.cpu;
  setupFlat32(cpu, 0x1000);
  b.mem.write(GDT + 8, 4, 0x0000ffff); b.mem.write(GDT + 12, 4, 0x00cf9a00);
  b.mem.write(GDT + 16, 4, 0x0000ffff); b.mem.write(GDT + 20, 4, 0x00cf9200);
  for (let v = 0; v < 32; v++) {
    const off = STUBS + 4 * v;
    b.mem.write(IDT + 8 * v, 4, (off & 0xffff) | (0x08 << 16));
    b.mem.write(IDT + 8 * v + 4, 4, (off & 0xffff0000) | 0x8e00);
    b.mem.write(off, 1, 0xf4);
  }
  cpu.gdtrBase = GDT; cpu.gdtrLimit = 0x17; cpu.idtrBase = IDT; cpu.idtrLimit = 32 * 8 - 1;
  cpu.cr0 |= cr0;
  poke(b, 0x1000, asm(src + '\nhlt'));
  return b;
}
function run(src: string, cr0?: number): Bare { const b = pm(src, cr0); runToHlt(b); return b; }
/** Exception vector whose stub the CPU halted in, or -1 (halted in the test code). */
function vectorOf(b: Bare): number {
  const e = b.cpu.eip - 1 - STUBS;
  return e >= 0 && e < 128 && e % 4 === 0 ? e / 4 : -1;
}
function rd(b: Bare, a: number, size = 4): number { return b.mem.read(a, size) >>> 0; }
function bytes(b: Bare, a: number, n: number): number[] { return Array.from({ length: n }, (_, k) => b.mem.read(a + k, 1)); }
function f64At(b: Bare, a: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  for (let k = 0; k < 8; k++) dv.setUint8(k, b.mem.read(a + k, 1));
  return dv.getFloat64(0, true);
}
/** The 8 bytes of a double's encoding, as a hex string (high byte first). */
function q(b: Bare, a: number): string { return (rd(b, a + 4).toString(16).padStart(8, '0') + rd(b, a).toString(16).padStart(8, '0')); }
/** An 80-bit value in memory as "SE:HI:LO" hex. */
function t(b: Bare, a: number): string {
  return `${rd(b, a + 8, 2).toString(16).padStart(4, '0')}:${rd(b, a + 4).toString(16).padStart(8, '0')}:${rd(b, a).toString(16).padStart(8, '0')}`;
}
function noFault(b: Bare): void {
  assert.equal(vectorOf(b), -1, `unexpected exception ${vectorOf(b)}`);
  assert.equal(b.cpu.stop, Stop.None, b.cpu.stopMessage);
}

// FSW bits (SDM Vol1 Figure 8-4)
const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32, SF = 64, ES = 0x80;
const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;

// ------------------------------------------------------------------ basics
test('reset state (Vol3A Table 9-1) and Linux FPU detection (fninit; fnstsw; fnstcw)', () => {
  const b = run(`
    fnstcw [0x8000]
    fnstenv [0x8010]
    fninit
    fnstsw [0x8002]
    fnstcw [0x8004]
    fnstsw ax`);
  noFault(b);
  assert.equal(rd(b, 0x8000, 2), 0x0040, 'CW after RESET');
  assert.equal(rd(b, 0x8018, 2), 0x5555, 'TW after RESET: all registers +0.0 (valid zero)');
  assert.equal(rd(b, 0x8002, 2), 0, 'FSW after FNINIT');
  assert.equal(rd(b, 0x8004, 2), 0x037f, 'FCW after FNINIT');
  assert.equal(b.cpu.r16[0], 0);
});

test('loads, stores, constants and the register stack', () => {
  const b = run(`
    fninit
    fld1
    fldpi
    faddp st1, st0          ; 1 + pi
    fstp qword [0x8000]
    fldl2t
    fstp tword [0x8010]
    fldl2e
    fstp tword [0x8020]
    fldpi
    fstp tword [0x8030]
    fldlg2
    fstp tword [0x8040]
    fldln2
    fstp tword [0x8050]
    fldz
    fchs
    fstp qword [0x8060]     ; -0
    fld dword [f1]
    fabs
    fstp dword [0x8070]
    fld qword [d1]
    fld1
    fxch st1
    fstp qword [0x8078]     ; d1 (after fxch)
    fstp qword [0x8080]     ; 1
    fnstsw ax
    jmp done
  f1: dd -3.25
  d1: dq 6.5
  done:`);
  noFault(b);
  assert.equal(f64At(b, 0x8000), 1 + Math.PI);
  assert.equal(t(b, 0x8010), '4000:d49a784b:cd1b8afe', 'log2(10)');
  assert.equal(t(b, 0x8020), '3fff:b8aa3b29:5c17f0bc', 'log2(e)');
  assert.equal(t(b, 0x8030), '4000:c90fdaa2:2168c235', 'pi');
  assert.equal(t(b, 0x8040), '3ffd:9a209a84:fbcff799', 'log10(2)');
  assert.equal(t(b, 0x8050), '3ffe:b17217f7:d1cf79ac', 'ln(2)');
  assert.equal(q(b, 0x8060), '8000000000000000');
  assert.equal(rd(b, 0x8070), 0x40500000, '|−3.25| as single');
  assert.equal(f64At(b, 0x8078), 6.5);
  assert.equal(f64At(b, 0x8080), 1);
  assert.equal(b.cpu.r16[0] & 0x3800, 0, 'TOP back to 0');
});

test('constants follow the rounding control (66-bit internal constants)', () => {
  const b = run(`
    fninit
    fldcw [cw_down]
    fldpi
    fstp tword [0x8000]
    fldl2e
    fstp tword [0x8010]
    fldcw [cw_up]
    fldl2t
    fstp tword [0x8020]
    fldpi
    fstp tword [0x8030]
    jmp done
  cw_down: dw 0x077f
  cw_up: dw 0x0b7f
  done:`);
  noFault(b);
  assert.equal(t(b, 0x8000), '4000:c90fdaa2:2168c234', 'pi rounded down');
  assert.equal(t(b, 0x8010), '3fff:b8aa3b29:5c17f0bb', 'log2(e) rounded down');
  assert.equal(t(b, 0x8020), '4000:d49a784b:cd1b8aff', 'log2(10) rounded up');
  assert.equal(t(b, 0x8030), '4000:c90fdaa2:2168c235', 'pi rounded up');
});

test('m80 moves are exact for every encoding (denormal, pseudo-denormal, SNaN, unnormal, 64-bit significand)', () => {
  const vals = [
    [0x3fff, 0x80000000, 0x00000001], // 1 + 2^-63
    [0x0000, 0x00000001, 0x00000005], // denormal
    [0x8000, 0x80000000, 0x00000000], // pseudo-denormal
    [0x7fff, 0x80000000, 0x00000001], // SNaN
    [0x7fff, 0x00000000, 0x00000000], // pseudo-infinity
    [0x4005, 0x12345678, 0x9abcdef0], // unnormal
    [0x7ffe, 0xffffffff, 0xffffffff], // largest finite
    [0xc123, 0xfedcba98, 0x76543210],
  ];
  const data = vals.map(([se, hi, lo]) => `dd 0x${lo.toString(16)}, 0x${hi.toString(16)}\ndw 0x${se.toString(16)}`).join('\n');
  let code = 'fninit\n';
  for (let k = 0; k < vals.length; k++) code += `fld tword [v + ${10 * k}]\n`;
  for (let k = vals.length - 1; k >= 0; k--) code += `fstp tword [0x8000 + ${10 * k}]\n`;
  const b = run(`${code}\nfnstsw ax\njmp done\nv:\n${data}\ndone:`);
  noFault(b);
  vals.forEach(([se, hi, lo], k) => {
    assert.equal(t(b, 0x8000 + 10 * k), `${se.toString(16).padStart(4, '0')}:${hi.toString(16).padStart(8, '0')}:${lo.toString(16).padStart(8, '0')}`);
  });
  assert.equal(b.cpu.r16[0] & 0x3f, 0, 'no exception: FLD/FSTP m80 do not convert');
});

test('FILD/FISTP m64 are exact; FIST rounds by RC', () => {
  const b = run(`
    fninit
    fild qword [big]
    fistp qword [0x8000]
    fild qword [neg]
    fistp qword [0x8008]
    fild qword [min]
    fistp qword [0x8010]
    fild qword [big]
    fstp qword [0x8018]      ; 2^63 - 1 rounds to 2^63 in double
    fnstsw [0x8020]
    fld qword [h25]
    fist dword [0x8030]      ; 2.5 -> 2
    fld qword [h35]
    fist dword [0x8034]      ; 3.5 -> 4
    fld qword [m25]
    fistp dword [0x8038]     ; -2.5 -> -2
    fldcw [cw_chop]
    fld qword [p27]
    fistp word [0x803c]      ; 2.7 -> 2
    fldcw [cw_down]
    fld qword [m21]
    fistp dword [0x8040]     ; -2.1 -> -3
    fldcw [cw_up]
    fld qword [p21]
    fistp dword [0x8044]     ; 2.1 -> 3
    fnstsw [0x8048]
    fldcw [cw_near]
    fnclex
    fld qword [d40k]
    fistp word [0x804c]      ; out of range: IE, integer indefinite
    fnstsw [0x804e]
    fild word [w]
    fistp dword [0x8050]
    jmp done
  big: dq 0x7fffffffffffffff
  neg: dq -81985529216486895   ; 0xFEDCBA9876543211
  min: dq 0x8000000000000000
  h25: dq 2.5
  h35: dq 3.5
  m25: dq -2.5
  p27: dq 2.7
  m21: dq -2.1
  p21: dq 2.1
  d40k: dq 40000.0
  w: dw -1234
  cw_chop: dw 0x0f7f
  cw_down: dw 0x077f
  cw_up: dw 0x0b7f
  cw_near: dw 0x037f
  done:`);
  noFault(b);
  assert.equal(q(b, 0x8000), '7fffffffffffffff');
  assert.equal(q(b, 0x8008), 'fedcba9876543211');
  assert.equal(q(b, 0x8010), '8000000000000000');
  assert.equal(q(b, 0x8018), '43e0000000000000');
  assert.equal(rd(b, 0x8020, 2) & (PE | C1), PE | C1, 'inexact, rounded up');
  assert.deepEqual([rd(b, 0x8030), rd(b, 0x8034), rd(b, 0x8038) | 0, rd(b, 0x803c, 2), rd(b, 0x8040) | 0, rd(b, 0x8044)], [2, 4, -2, 2, -3, 3]);
  assert.equal(rd(b, 0x8048, 2) & (PE | C1), PE | C1, 'last FIST (2.1 up) inexact, rounded up');
  assert.equal(rd(b, 0x804c, 2), 0x8000);
  assert.equal(rd(b, 0x804e, 2) & (IE | PE), IE);
  assert.equal(rd(b, 0x8050) | 0, -1234);
});

test('FBLD / FBSTP', () => {
  const b = run(`
    fninit
    fbld [bcd]
    fbstp [0x8000]
    fld qword [val]
    fbstp [0x8010]           ; -987654321.5 -> -987654322 (nearest even)
    fld qword [huge]
    fbstp [0x8020]           ; 1e18 does not fit: IE, BCD indefinite
    fnstsw ax
    jmp done
  bcd: db 0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80
  val: dq -987654321.5
  huge: dq 1.0e18
  done:`);
  noFault(b);
  assert.deepEqual(bytes(b, 0x8000, 10), [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80]);
  assert.deepEqual(bytes(b, 0x8010, 10), [0x22, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0, 0x80]);
  assert.deepEqual(bytes(b, 0x8020, 10), [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
  assert.equal(b.cpu.r16[0] & IE, IE);
});

// ------------------------------------------------------------------ arithmetic
test('arithmetic: correct rounding in every RC mode, PE and C1, PC = single, signed zero', () => {
  const b = run(`
    fninit
    fld1
    fdiv qword [three]
    fnstsw [0x8008]
    fstp qword [0x8000]      ; 1/3 nearest
    fldcw [cw_up]
    fld1
    fdiv qword [three]
    fnstsw [0x8018]
    fstp qword [0x8010]      ; 1/3 up
    fldcw [cw_down]
    fld1
    fchs
    fdiv qword [three]
    fstp qword [0x8020]      ; -1/3 down
    fld1
    fsub st0, st0
    fstp qword [0x8028]      ; 1 - 1 = -0 when rounding down
    fldcw [cw_chop]
    fld1
    fchs
    fdiv qword [three]
    fstp qword [0x8030]      ; -1/3 chop
    fldcw [cw_single]
    fld1
    fdiv qword [three]
    fstp qword [0x8038]      ; 1/3 with a 24-bit significand
    fldcw [cw_near]
    fld qword [two]
    fsqrt
    fstp qword [0x8040]
    fld qword [big]
    fmul qword [ten]
    fstp qword [0x8048]      ; overflow: +inf
    fnstsw [0x8050]
    fldcw [cw_chopall]
    fld qword [big]
    fmul qword [ten]
    fstp qword [0x8058]      ; overflow, chop: largest finite
    fldcw [cw_near]
    fnclex
    fld1
    fidiv dword [izero]
    fstp qword [0x8060]      ; 1/0 = +inf, ZE
    fnstsw [0x8068]
    fnclex
    fldz
    fdiv qword [zero]
    fstp qword [0x8070]      ; 0/0: IE, indefinite
    fnstsw [0x8078]
    fild word [i7]
    fisub dword [i10]
    fimul word [i7]
    fidivr dword [i42]       ; 42 / (-21) = -2
    fstp qword [0x8080]
    fld qword [three]
    fsubr qword [two]        ; 2 - 3
    fstp qword [0x8088]
    fld qword [tiny]
    fmul qword [tiny]        ; 1e-300^2 underflows to 0: UE, PE
    fstp qword [0x8090]
    fnstsw [0x8098]
    jmp done
  three: dq 3.0
  two: dq 2.0
  ten: dq 10.0
  big: dq 1.0e308
  zero: dq 0.0
  tiny: dq 1.0e-300
  izero: dd 0
  i7: dw 7
  i10: dd 10
  i42: dd 42
  cw_up: dw 0x0b7f
  cw_down: dw 0x077f
  cw_chop: dw 0x0f7f
  cw_single: dw 0x007f
  cw_near: dw 0x037f
  cw_chopall: dw 0x0f7f
  done:`);
  noFault(b);
  assert.equal(q(b, 0x8000), '3fd5555555555555');
  assert.equal(rd(b, 0x8008, 2) & (PE | C1), PE, '1/3 nearest: inexact, rounded down');
  assert.equal(q(b, 0x8010), '3fd5555555555556');
  assert.equal(rd(b, 0x8018, 2) & (PE | C1), PE | C1);
  assert.equal(q(b, 0x8020), 'bfd5555555555556');
  assert.equal(q(b, 0x8028), '8000000000000000');
  assert.equal(q(b, 0x8030), 'bfd5555555555555');
  assert.equal(q(b, 0x8038), '3fd5555560000000', 'single 1/3 = 3EAAAAABh');
  assert.equal(q(b, 0x8040), '3ff6a09e667f3bcd', 'sqrt 2');
  assert.equal(q(b, 0x8048), '7ff0000000000000');
  assert.equal(rd(b, 0x8050, 2) & (OE | PE), OE | PE);
  assert.equal(q(b, 0x8058), '7fefffffffffffff');
  assert.equal(q(b, 0x8060), '7ff0000000000000');
  assert.equal(rd(b, 0x8068, 2) & 0x3f, ZE);
  assert.equal(q(b, 0x8070), 'fff8000000000000');
  assert.equal(rd(b, 0x8078, 2) & 0x3f, IE);
  assert.equal(f64At(b, 0x8080), -2);
  assert.equal(f64At(b, 0x8088), -1);
  assert.equal(q(b, 0x8090), '0000000000000000');
  assert.equal(rd(b, 0x8098, 2) & (UE | PE), UE | PE);
});

test('NaN operands: SNaN → IE and quieted, QNaN propagates, larger significand wins', () => {
  const b = run(`
    fninit
    fld dword [snan]
    fstp dword [0x8000]      ; FLD m32 SNaN: IE, quiet 7FC00001
    fnstsw [0x8004]
    fnclex
    fld dword [qnan1]
    fadd dword [qnan2]       ; the larger significand
    fstp dword [0x8008]
    fnstsw [0x800c]
    fld tword [snan80]       ; no IE for m80
    fnstsw [0x8010]
    fadd st0, st0            ; IE, quieted
    fstp tword [0x8020]
    fnstsw [0x8030]
    fld dword [den]          ; denormal single: DE
    fstp qword [0x8038]
    fnstsw [0x8040]
    jmp done
  snan: dd 0x7f800001
  qnan1: dd 0xffc00005
  qnan2: dd 0x7fc00009
  snan80: dd 0x00000007, 0x80000000
          dw 0x7fff
  den: dd 0x00000001
  done:`);
  noFault(b);
  assert.equal(rd(b, 0x8000), 0x7fc00001);
  assert.equal(rd(b, 0x8004, 2) & IE, IE);
  assert.equal(rd(b, 0x8008), 0x7fc00009);
  assert.equal(rd(b, 0x800c, 2) & IE, 0, 'QNaNs do not signal');
  assert.equal(rd(b, 0x8010, 2) & IE, 0);
  assert.equal(t(b, 0x8020), '7fff:c0000000:00000007');
  assert.equal(rd(b, 0x8030, 2) & IE, IE);
  assert.equal(q(b, 0x8038), '36a0000000000000', '2^-149');
  assert.equal(rd(b, 0x8040, 2) & DE, DE);
});

test('compares: FCOM, FUCOM, FICOM, FTST, FCOMI (EFLAGS), 80-bit tie-break; FXAM classes', () => {
  const b = run(`
    fninit
    fld qword [two]
    fcom qword [one]
    fnstsw [0x8000]          ; 2 > 1: 000
    fcom qword [three]
    fnstsw [0x8002]          ; 2 < 3: C0
    ficom word [i2]
    fnstsw [0x8004]          ; equal: C3
    fucom st0
    fnstsw [0x8006]
    fld dword [qnan]
    fucom st1
    fnstsw [0x8008]          ; unordered, no IE
    fcom st1
    fnstsw [0x800a]          ; unordered, IE
    fstp st0
    fnclex
    ftst
    fnstsw [0x800c]          ; 2 > 0
    fld1
    fcomi st0, st1           ; 1 < 2: CF
    pushfd
    pop dword [0x8010]
    fucomip st0, st1         ; pops
    fld tword [onep]         ; 1 + 2^-63: equal to 1 as a double, greater as an 80-bit value
    fld1
    fcomip st0, st1          ; 1 < 1 + 2^-63: CF
    pushfd
    pop dword [0x8014]
    fstp st0
    fld1
    fld1
    fcompp
    fnstsw [0x8018]          ; equal, both popped
    fld qword [mone]
    fld dword [qnan]
    fucomi st0, st1          ; unordered: ZF PF CF
    pushfd
    pop dword [0x801c]
    fninit
    fxam
    fnstsw [0x8020]          ; empty: C3 C0
    fldz
    fxam
    fnstsw [0x8022]          ; zero: C3
    fld qword [minf]
    fxam
    fnstsw [0x8024]          ; -inf: C2 C0 C1
    fld dword [qnan]
    fxam
    fnstsw [0x8026]          ; NaN: C0
    fld tword [den80]
    fxam
    fnstsw [0x8028]          ; denormal: C3 C2
    fld tword [unn]
    fxam
    fnstsw [0x802a]          ; unsupported: 000
    fld qword [mone]
    fxam
    fnstsw [0x802c]          ; normal, negative: C2 C1
    jmp done
  one: dq 1.0
  two: dq 2.0
  three: dq 3.0
  mone: dq -1.0
  minf: dq 0xfff0000000000000
  i2: dw 2
  qnan: dd 0x7fc00000
  onep: dd 1, 0x80000000
        dw 0x3fff
  den80: dd 1, 0
         dw 0
  unn: dd 0, 0x40000000
       dw 0x3fff
  done:`);
  noFault(b);
  const cc = (a: number) => rd(b, a, 2) & (C0 | C1 | C2 | C3 | IE);
  assert.equal(cc(0x8000), 0);
  assert.equal(cc(0x8002), C0);
  assert.equal(cc(0x8004), C3);
  assert.equal(cc(0x8006), C3);
  assert.equal(cc(0x8008), C3 | C2 | C0);
  assert.equal(cc(0x800a), C3 | C2 | C0 | IE);
  assert.equal(cc(0x800c), 0);
  const fl = (a: number) => rd(b, a) & 0x8d5; // OF SF ZF AF PF CF
  assert.equal(fl(0x8010), 0x01);
  assert.equal(fl(0x8014), 0x01);
  assert.equal(cc(0x8018) & C3, C3);
  assert.equal((rd(b, 0x8018, 2) >> 11) & 7, 7, 'FCOMPP popped both');
  assert.equal(fl(0x801c), 0x45);
  assert.equal(cc(0x8020) & (C3 | C2 | C0), C3 | C0);
  assert.equal(cc(0x8022), C3);
  assert.equal(cc(0x8024), C2 | C0 | C1);
  assert.equal(cc(0x8026), C0);
  assert.equal(cc(0x8028), C3 | C2);
  assert.equal(cc(0x802a), 0);
  assert.equal(cc(0x802c), C2 | C1);
});

test('stack faults (#IS): overflow and underflow with masked response', () => {
  const b = run(`
    fninit
    ${'fld1\n'.repeat(8)}
    fldz                      ; overflow: IE SF C1, ST(0) = indefinite
    fnstsw [0x8000]
    fstp qword [0x8008]
    fninit
    fld1
    fadd st0, st2             ; underflow: IE SF, C1 = 0, ST(0) = indefinite
    fnstsw [0x8010]
    fstp qword [0x8018]
    fninit
    fld1
    fld qword [v]
    fxch st2                  ; swap with an empty register: underflow, masked: indefinite swapped in
    fstp qword [0x8020]
    fnstsw [0x8028]
    fninit
    fld1
    fld qword [v]
    fdecstp
    fdecstp
    fincstp
    fnstsw [0x8030]           ; TOP = 5
    ffree st2
    fincstp
    fstp qword [0x8038]
    jmp done
  v: dq 6.5
  done:`);
  noFault(b);
  assert.equal(rd(b, 0x8000, 2) & (IE | SF | C1), IE | SF | C1);
  assert.equal(q(b, 0x8008), 'fff8000000000000');
  assert.equal(rd(b, 0x8010, 2) & (IE | SF | C1), IE | SF);
  assert.equal(q(b, 0x8018), 'fff8000000000000');
  assert.equal(q(b, 0x8020), 'fff8000000000000');
  assert.equal(rd(b, 0x8028, 2) & (IE | SF), IE | SF);
  assert.equal((rd(b, 0x8030, 2) >> 11) & 7, 5);
  // After fdecstp×2, fincstp: TOP = 5, ST(1) = 6.5 (R6), ST(2) = 1 (R7). FFREE ST(2) empties R7.
  // fincstp: TOP = 6, ST(0) = 6.5.
  assert.equal(f64At(b, 0x8038), 6.5);
});

test('FCMOVcc, FXCH, FST ST(i), FCHS/FABS, FRNDINT', () => {
  const b = run(`
    fninit
    fld qword [a]            ; ST1 = 6.5 after next load
    fld qword [c]            ; ST0 = -1.5
    mov eax, 1
    cmp eax, 2               ; CF = 1, ZF = 0
    fcmovnb st0, st1         ; not taken
    fst qword [0x8000]
    fcmovb st0, st1          ; taken
    fst qword [0x8008]
    fld qword [c]
    fcmove st0, st1          ; not taken (ZF = 0)
    fstp qword [0x8010]
    fld qword [r25]
    frndint                  ; 2.5 -> 2
    fstp qword [0x8018]
    fld qword [mhalf]
    frndint                  ; -0.5 -> -0
    fstp qword [0x8020]
    fldcw [cw_up]
    fld qword [r21]
    frndint                  ; 2.1 -> 3, C1 = 1, PE
    fnstsw [0x8028]
    fstp qword [0x8030]
    fld qword [c]
    fst st3
    fstp st0
    fstp st0
    fstp st0
    fstp qword [0x8038]      ; the copy made by FST ST(3)
    jmp done
  a: dq 6.5
  c: dq -1.5
  r25: dq 2.5
  mhalf: dq -0.5
  r21: dq 2.1
  cw_up: dw 0x0b7f
  done:`);
  noFault(b);
  assert.equal(f64At(b, 0x8000), -1.5);
  assert.equal(f64At(b, 0x8008), 6.5);
  assert.equal(f64At(b, 0x8010), -1.5);
  assert.equal(f64At(b, 0x8018), 2);
  assert.equal(q(b, 0x8020), '8000000000000000');
  assert.equal(rd(b, 0x8028, 2) & (PE | C1), PE | C1);
  assert.equal(f64At(b, 0x8030), 3);
  assert.equal(f64At(b, 0x8038), -1.5);
});

test('transcendentals and FPREM/FPREM1/FSCALE/FXTRACT against known values', () => {
  const b = run(`
    fninit
    fld qword [half]
    fsin
    fstp qword [0x8000]
    fldz
    fcos
    fstp qword [0x8008]          ; exactly 1
    fld qword [half]
    fptan
    fstp qword [0x8010]          ; 1.0 pushed
    fstp qword [0x8018]          ; tan 0.5
    fld1
    fld1
    fpatan
    fstp qword [0x8020]          ; atan(1/1) = pi/4
    fld qword [half]
    f2xm1
    fstp qword [0x8028]          ; sqrt(2) - 1
    fld qword [three]
    fld qword [eight]
    fyl2x
    fstp qword [0x8030]          ; 3 * log2(8) = 9
    fld qword [two]
    fld1
    fyl2xp1
    fstp qword [0x8038]          ; 2 * log2(1 + 1) = 2
    fld qword [s27]
    fld qword [three]
    fscale
    fstp qword [0x8040]          ; 3 * 2^trunc(2.7) = 12
    fstp st0
    fld qword [m12]
    fxtract
    fstp qword [0x8048]          ; significand -1.5
    fstp qword [0x8050]          ; exponent 3
    fld qword [three]
    fld qword [ten]
    fprem
    fnstsw [0x8058]              ; Q = 3: C3 (Q0) C1 (Q1)
    fstp qword [0x8060]          ; 1
    fld qword [eleven]
    fprem1
    fnstsw [0x8068]              ; Q = 4 (11/3 = 3.67 -> 4): C0 (Q2)
    fstp qword [0x8070]          ; 11 - 12 = -1
    fstp st0
    fld qword [three]
    fld qword [p100]             ; 2^100 mod 3 = 1, partial remainders first
    xor ecx, ecx
  again:
    inc ecx
    fprem
    fnstsw ax
    test ah, 4
    jnz again
    mov [0x8078], ecx
    fstp qword [0x8080]
    fstp st0
    fld qword [big]
    fsin
    fnstsw [0x8088]              ; |x| >= 2^63: C2, operand unchanged
    fstp qword [0x8090]
    fldpi
    fsincos
    fstp qword [0x8098]          ; cos pi = -1
    fstp qword [0x80a0]          ; sin pi (of the double pi)
    jmp done
  half: dq 0.5
  two: dq 2.0
  three: dq 3.0
  eight: dq 8.0
  ten: dq 10.0
  eleven: dq 11.0
  s27: dq 2.7
  m12: dq -12.0
  p100: dq 0x4630000000000000     ; 2^100
  big: dq 0x43e0000000000000      ; 2^63
  done:`);
  noFault(b);
  const near = (a: number, v: number, what: string) => assert.ok(Math.abs(f64At(b, a) - v) <= 2e-16 * Math.abs(v), `${what}: ${f64At(b, a)} vs ${v}`);
  near(0x8000, 0.479425538604203, 'sin 0.5');
  assert.equal(f64At(b, 0x8008), 1);
  assert.equal(f64At(b, 0x8010), 1);
  near(0x8018, 0.5463024898437905, 'tan 0.5');
  near(0x8020, 0.7853981633974483, 'atan 1');
  near(0x8028, 0.4142135623730950488, '2^0.5 - 1');
  assert.equal(f64At(b, 0x8030), 9);
  assert.equal(f64At(b, 0x8038), 2);
  assert.equal(f64At(b, 0x8040), 12);
  assert.equal(f64At(b, 0x8048), -1.5);
  assert.equal(f64At(b, 0x8050), 3);
  assert.equal(rd(b, 0x8058, 2) & (C0 | C1 | C2 | C3), C3 | C1);
  assert.equal(f64At(b, 0x8060), 1);
  assert.equal(rd(b, 0x8068, 2) & (C0 | C1 | C2 | C3), C0);
  assert.equal(f64At(b, 0x8070), -1);
  assert.ok(rd(b, 0x8078) >= 2, 'exponent difference 98 needs a partial step (C2 = 1)');
  assert.equal(f64At(b, 0x8080), 1);
  assert.equal(rd(b, 0x8088, 2) & C2, C2);
  assert.equal(q(b, 0x8090), '43e0000000000000');
  assert.equal(f64At(b, 0x8098), -1);
  near(0x80a0, 1.2246467991473532e-16, 'sin(double pi)');
});

// ------------------------------------------------------------------ state images
test('FSAVE: 32-bit protected-mode layout (Vol1 Figure 8-9), registers in ST order, then FNINIT', () => {
  const b = run(`
    mov dword [0x7f00], at_fld
    fninit
    fldcw [cw]
    fld1
  at_fld:
    fld dword [x]
    fsave [0x9000]
    fnstcw [0x7f04]
    jmp done
  cw: dw 0x027f
  x: dd -2.5
  done:`);
  noFault(b);
  const fldAt = rd(b, 0x7f00);
  assert.equal(rd(b, 0x9000), 0xffff027f, 'CW');
  assert.equal(rd(b, 0x9004), 0xffff3000, 'SW: TOP = 6');
  assert.equal(rd(b, 0x9008), 0xffff0fff, 'TW: R0-R5 empty, R6 R7 valid');
  assert.equal(rd(b, 0x900c), fldAt, 'FIP');
  assert.equal(rd(b, 0x9010), 0x08 | (0x105 << 16), 'FCS and FOP (D9 05)');
  assert.equal(rd(b, 0x9018), 0xffff0010, 'FDS');
  assert.equal(t(b, 0x901c), 'c000:a0000000:00000000', 'ST(0) = -2.5');
  assert.equal(t(b, 0x9026), '3fff:80000000:00000000', 'ST(1) = 1');
  assert.equal(rd(b, 0x7f04, 2), 0x037f, 'FNINIT after the save');
  assert.equal(rd(b, 0x9014), rd(b, fldAt + 2), 'FDP = offset of x (the disp32 of D9 05)');
});

test('FRSTOR restores the FSAVE image exactly (incl. a 64-bit significand)', () => {
  const b = run(`
    fninit
    fld tword [v]
    fld1
    fldpi
    fsave [0x9000]
    frstor [0x9000]
    fstp tword [0x8000]
    fstp tword [0x8010]
    fstp tword [0x8020]
    fnstsw ax
    jmp done
  v: dd 0x12345679, 0x80000000
     dw 0x4001
  done:`);
  noFault(b);
  assert.equal(t(b, 0x8000), '4000:c90fdaa2:2168c235');
  assert.equal(t(b, 0x8010), '3fff:80000000:00000000');
  assert.equal(t(b, 0x8020), '4001:80000000:12345679');
  assert.equal((b.cpu.r16[0] >> 11) & 7, 0);
});

test('FNSTENV: 16-bit real-mode layout (Vol1 Figure 8-12) with a 20-bit linear FIP', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0x1000, 0x0010); // code at linear 10010h
  poke(b, 0x10010, asm(`
    fninit
    fld1
    fldz
    fnstenv [0x0100]        ; DS = 0
    o32 fnstenv [0x0200]
    hlt`, 16, 0x10));
  runToHlt(b);
  assert.equal(b.cpu.stop, Stop.None, b.cpu.stopMessage);
  const fldzLin = 0x10010 + 2 + 2; // fninit (2) + fld1 (2)
  assert.equal(rd(b, 0x100, 2), 0x037f);
  assert.equal(rd(b, 0x102, 2), 0x3000);
  assert.equal(rd(b, 0x104, 2), 0x1fff, 'TW: R7 valid (1.0), R6 zero (01), others empty');
  assert.equal(rd(b, 0x106, 2), fldzLin & 0xffff, 'FIP 15..0');
  assert.equal(rd(b, 0x108, 2), ((fldzLin >>> 16) << 12) | 0x1ee, 'FIP 19..16 and FOP (D9 EE)');
  assert.equal(rd(b, 0x10a, 2), 0);
  // 32-bit real-mode layout (Figure 8-10)
  assert.equal(rd(b, 0x20c), (0xffff0000 | (fldzLin & 0xffff)) >>> 0);
  assert.equal(rd(b, 0x210), ((fldzLin >>> 16) << 12) | 0x1ee);
});

test('FXSAVE / FXRSTOR: 512-byte image, abridged tag, MXCSR; #GP when misaligned', () => {
  const b = run(`
    mov dword [0x7f00], at_pi
    fninit
    fld1
  at_pi:
    fldpi
    fxsave [0xa000]
    fninit
    fxrstor [0xa000]
    fstp tword [0x8000]
    fstp tword [0x8010]
    fxsave [0xa008]          ; misaligned: #GP(0)
  `);
  assert.equal(vectorOf(b), 13);
  assert.equal(b.mem.read(b.cpu.r32[4], 4), 0, 'error code 0');
  const at = rd(b, 0x7f00);
  assert.equal(rd(b, 0xa000, 2), 0x037f, 'FCW');
  assert.equal(rd(b, 0xa002, 2), 0x3000, 'FSW');
  assert.equal(rd(b, 0xa004, 1), 0xc0, 'abridged FTW: R6, R7');
  assert.equal(rd(b, 0xa006, 2), 0x1eb, 'FOP (D9 EB)');
  assert.equal(rd(b, 0xa008), at, 'FIP');
  assert.equal(rd(b, 0xa00c, 2), 0x08, 'FCS');
  assert.equal(rd(b, 0xa018), 0x1f80, 'MXCSR');
  assert.equal(rd(b, 0xa01c), 0, 'MXCSR_MASK');
  assert.equal(t(b, 0xa020), '4000:c90fdaa2:2168c235', 'ST0 = pi');
  assert.deepEqual(bytes(b, 0xa02a, 6), [0, 0, 0, 0, 0, 0]);
  assert.equal(t(b, 0xa030), '3fff:80000000:00000000', 'ST1 = 1');
  assert.equal(t(b, 0x8000), '4000:c90fdaa2:2168c235', 'restored');
  assert.equal(t(b, 0x8010), '3fff:80000000:00000000');
});

test('FXRSTOR: reserved MXCSR bits → #GP(0) with no state change', () => {
  const b = run(`
    fninit
    fld1
    fxsave [0xa000]
    mov dword [0xa018], 0x10000
    fninit
    fxrstor [0xa000]
  `);
  assert.equal(vectorOf(b), 13);
  assert.equal(b.cpu.fpu.empty, 0xff, 'still the state after FNINIT');
});

test('LDMXCSR/STMXCSR #UD (SSE not advertised); FISTTP (SSE3) and holes in the map #UD', () => {
  for (const src of ['ldmxcsr [0x8000]', 'stmxcsr [0x8000]', 'fisttp dword [0x8000]', 'db 0xd9, 0xd1', 'db 0xdf, 0xe1']) {
    const b = pm(src);
    b.cpu.cr4 |= CR4.OSFXSR;
    runToHlt(b);
    assert.equal(vectorOf(b), 6, src);
  }
});

// ------------------------------------------------------------------ system interface
test('#NM: CR0.TS and CR0.EM for x87 instructions; FWAIT only with MP and TS (Vol3A Table 2-2)', () => {
  assert.equal(vectorOf(run('fld1', CR0.NE | CR0.TS)), 7, 'TS');
  assert.equal(vectorOf(run('fld1', CR0.NE | CR0.EM)), 7, 'EM');
  assert.equal(vectorOf(run('fninit', CR0.NE | CR0.EM)), 7, 'EM, no-wait form');
  assert.equal(vectorOf(run('fwait', CR0.NE | CR0.TS)), -1, 'WAIT with TS but not MP executes');
  assert.equal(vectorOf(run('fwait', CR0.NE | CR0.EM)), -1, 'WAIT with EM executes');
  assert.equal(vectorOf(run('fwait', CR0.NE | CR0.MP | CR0.TS)), 7, 'WAIT with MP and TS');
  assert.equal(vectorOf(run('fxsave [0xa000]', CR0.NE | CR0.TS)), 7, 'FXSAVE with TS');
  // lazy FPU switching: clts then the instruction runs
  const b = run('clts\nfninit\nfld1\nfstp dword [0x8000]', CR0.NE | CR0.TS);
  noFault(b);
  assert.equal(rd(b, 0x8000), 0x3f800000);
});

test('#MF (CR0.NE = 1) is reported by the next waiting instruction; no-wait instructions do not report', () => {
  const b = run(`
    mov dword [0x7f00], at_div
    mov dword [0x7f04], at_next
    fninit
    fldcw [cw]                ; unmask ZE
    fld1
    fldz
  at_div:
    fdivp st1, st0            ; 1/0: ZE unmasked, no result, no pop
    fnstsw [0x8000]           ; no-wait: no fault
    fnstcw [0x8002]
  at_next:
    fld1
    jmp done
  cw: dw 0x037b
  done:`);
  assert.equal(vectorOf(b), 16);
  const esp = b.cpu.r32[4];
  assert.equal(rd(b, esp), rd(b, 0x7f04), 'pushed EIP = the waiting instruction');
  assert.equal(rd(b, 0x8000, 2) & (ZE | ES | B), ZE | ES | B);
  assert.equal((rd(b, 0x8000, 2) >> 11) & 7, 6, 'no pop');
  assert.equal(b.cpu.fpu.fip, rd(b, 0x7f00), 'FIP = the faulting FDIVP');
  // FWAIT also reports it
  const w = run('fninit\nfldcw [cw]\nfld1\nfldz\nfdivp st1, st0\nfwait\njmp done\ncw: dw 0x037b\ndone:');
  assert.equal(vectorOf(w), 16);
  // FNCLEX clears it
  const x = run('fninit\nfldcw [cw]\nfld1\nfldz\nfdivp st1, st0\nfnclex\nfld1\njmp done\ncw: dw 0x037b\ndone:');
  noFault(x);
  // FLDCW unmasking an already-set flag makes it pending
  const y = run('fninit\nfld1\nfldz\nfdivp st1, st0\nfldcw [cw]\nfwait\njmp done\ncw: dw 0x037b\ndone:');
  assert.equal(vectorOf(y), 16);
});

test('MS-DOS compatible reporting (CR0.NE = 0): FERR#, freeze until interrupt, IGNNE#', () => {
  const b = pm(`
    fninit
    fldcw [cw]
    fld1
    fldz
    fdivp st1, st0
    mov eax, 1
  at_next:
    fld1
    mov dword [0x8000], 0x1234
    fnclex
    jmp done
  cw: dw 0x037b
  done:`, CR0.MP);
  const events: boolean[] = [];
  b.cpu.fpu.onFerr = (on) => events.push(on);
  const stop = runToHlt(b);
  assert.equal(stop, Stop.Halted);
  assert.deepEqual(events, [true], 'FERR# asserted after the faulting instruction');
  assert.equal(b.cpu.r32[0], 1, 'the instruction after FDIVP ran');
  assert.equal(b.cpu.halted, true, 'frozen at the next waiting instruction');
  assert.equal(rd(b, 0x8000), 0);
  const frozenAt = b.cpu.eip;
  assert.equal(b.mem.read(frozenAt, 2), 0xe8d9, 'EIP = fld1');
  // The chipset asserts IGNNE# (port F0h): the instruction proceeds.
  b.cpu.fpu.ignne = true;
  b.cpu.halted = false;
  runToHlt(b);
  assert.equal(vectorOf(b), -1);
  assert.equal(rd(b, 0x8000), 0x1234);
  assert.deepEqual(events, [true, false], 'FNCLEX deasserts FERR#');
  assert.equal(b.cpu.fpu.ignne, false, 'IGNNE# follows FERR#');
});

test('FNSTENV 16-bit protected-mode layout (Vol1 Figure 8-11); FLDENV loads pointers, tags and a pending exception', () => {
  const b = run(`
    mov dword [0x7f00], at_fld
    fninit
    fld1
  at_fld:
    fld qword [x]
    o16 fnstenv [0x9000]
    fnstenv [0x9100]
    fldenv [envin]
    fnstenv [0x9200]
    fldenv [envin]
    fwait                     ; ZE pending and unmasked: #MF
    jmp done
  x: dq 2.0
  envin:
    dd 0xffff037b             ; CW: ZE unmasked
    dd 0xffff2004             ; SW: TOP = 4, ZE
    dd 0xffffcfff             ; TW: R6 valid, R7 empty, R0-R5 empty
    dd 0x12345678             ; FIP
    dd 0x01d90023             ; FCS 23h, FOP 1D9h
    dd 0x9abcdef0             ; FDP
    dd 0xffff002b             ; FDS
  done:`);
  assert.equal(vectorOf(b), 16);
  const fldAt = rd(b, 0x7f00);
  assert.deepEqual([0, 2, 4, 6, 8, 10, 12].map((o) => rd(b, 0x9000 + o, 2)),
    [0x037f, 0x3000, 0x0fff, fldAt & 0xffff, 0x08, rd(b, fldAt + 2) & 0xffff, 0x10]);
  assert.equal(rd(b, 0x9110), 0x08 | (0x505 << 16), 'FOP of fld qword [disp32] (DD 05)');
  // After FLDENV: the control word as loaded (then FNSTENV masks it), TOP 4, ES and B from the
  // unmasked ZE, the tags recomputed from the register contents (R6 = 2.0: valid 00).
  assert.equal(rd(b, 0x9200), 0xffff037b);
  assert.equal(rd(b, 0x9204), 0xffffa084, 'SW: B, TOP = 4, ES, ZE');
  assert.equal(rd(b, 0x9208), 0xffffcfff);
  assert.deepEqual([rd(b, 0x920c), rd(b, 0x9210), rd(b, 0x9214), rd(b, 0x9218)], [0x12345678, 0x01d90023, 0x9abcdef0, 0xffff002b]);
});

test('FNSTENV 32-bit real-mode layout (Vol1 Figure 8-10): 32-bit linear data pointer', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0x0000, 0x1000);
  poke(b, 0x1000, asm(`
    mov ax, 0x2345
    mov ds, ax
    fninit
    fld dword [0x0012]        ; DS:0012 = linear 23462h
    xor ax, ax
    mov ds, ax
    o32 fnstenv [0x0300]
    hlt`, 16));
  runToHlt(b);
  assert.equal(b.cpu.stop, Stop.None, b.cpu.stopMessage);
  const dp = 0x23450 + 0x12;
  assert.equal(rd(b, 0x314), (0xffff0000 | (dp & 0xffff)) >>> 0, 'FDP 15..0');
  assert.equal(rd(b, 0x318), (dp >>> 16) << 12, 'FDP 31..16');
  assert.equal(rd(b, 0x310) & 0x7ff, 0x106, 'FOP D9 06');
});
