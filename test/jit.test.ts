// The block compiler (machine/cpu/jit.ts) must do exactly what the interpreter does: every test runs
// the same code twice on fresh CPUs, interpreted only (jitThreshold 0) and compiled at its first
// run (jitThreshold 1), and compares registers, EFLAGS, EIP, the instruction count, the data and
// stack memory and how the run ended. The interpreter itself is checked against hardware data by
// conformance.test.ts; this file checks that compiled blocks add nothing and lose nothing:
// random blocks of the forms the compiler writes out inline (ALU, MOV, LEA, MOVZX/MOVSX, shifts,
// INC/DEC, PUSH/POP, TEST, Jcc/JMP/CALL/RET...) and of forms it leaves to their handlers, faults
// in the middle of a block (EIP rolled back to the faulting instruction, the count of retired
// instructions exact), RDTSC inside a block (exact virtual time), self-modifying code, 16-bit code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, poke, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { AR, SEG } from '../machine/cpu/arch.js';
import { Stop } from '../machine/cpu/state.js';
import { jitStats, JIT_AVAILABLE } from '../machine/cpu/jit.js';

const CODE = 0x1000, DATA = 0x10000, GDT = 0x500, IDT = 0x800, HANDLERS = 0x9000, STACK = 0x80000;

/** Flat 32-bit machine with a GDT, an IDT whose vector v handler is a HLT at HANDLERS + v, DS limited to 128 KiB. */
function machine32(jitThreshold: number): Bare {
  const b = makeCpu(1 << 20);
  const c = b.cpu;
  setupFlat32(c, CODE);
  c.jitThreshold = jitThreshold;
  const w32 = (a: number, v: number): void => { b.mem.write(a, 4, v); };
  w32(GDT + 8, 0x0000ffff); w32(GDT + 12, 0x00cf9a00);   // 08: flat code
  w32(GDT + 16, 0x0000ffff); w32(GDT + 20, 0x00cf9200);  // 10: flat data
  c.gdtrBase = GDT; c.gdtrLimit = 23;
  for (let v = 0; v < 32; v++) {
    const off = HANDLERS + v;
    w32(IDT + v * 8, (0x08 << 16) | (off & 0xffff));
    w32(IDT + v * 8 + 4, (off & 0xffff0000) | 0x8e00);
    b.mem.write(off, 1, 0xf4);
  }
  c.idtrBase = IDT; c.idtrLimit = 32 * 8 - 1;
  c.setSegCache(SEG.DS, 0x10, 0, 0x1ffff, AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB);
  c.r32[4] = STACK;
  return b;
}

interface Outcome { stop: Stop; regs: number[]; eip: number; eflags: number; insns: number; data: number[]; stack: number[] }

function outcome(b: Bare, stop: Stop): Outcome {
  const c = b.cpu;
  return {
    stop, regs: Array.from(c.r32.subarray(0, 8)), eip: c.eip >>> 0, eflags: c.getEflags() >>> 0, insns: b.clock.insns,
    data: Array.from(b.mem.ram.subarray(DATA, DATA + 0x400)), stack: Array.from(b.mem.ram.subarray(STACK - 0x100, STACK)),
  };
}

/** Run `code` at CODE from the same initial state, interpreted and compiled; both outcomes must match. */
function both(code: number[], init: (b: Bare) => void, setup: (t: number) => Bare = machine32, runs = 1): Outcome {
  const out: Outcome[] = [];
  for (const t of [0, 1]) {
    const b = setup(t);
    init(b);
    poke(b, CODE, code);
    let stop = Stop.None;
    // Several runs re-enter the same blocks (compiled ones after the first under threshold 1).
    for (let r = 0; r < runs; r++) {
      b.cpu.eip = CODE - (b.cpu.segBase[SEG.CS] >>> 0);
      b.cpu.halted = false;
      stop = b.cpu.run(b.clock.insns + 100_000);
    }
    out.push(outcome(b, stop));
  }
  assert.deepEqual(out[1], out[0]);
  return out[0];
}

// ------------------------------------------------------------------ random blocks
/** xorshift32: deterministic test data. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
}

// Destinations never touch EBX (data pointer), ESP or ESI (index); 8-bit ones never BL/BH.
const DST = [0, 1, 2, 5, 7];
const DST8 = [0, 1, 2, 4, 5, 6];

function randomInsn(r: () => number): number[] {
  const pick = <T>(a: readonly T[]): T => a[r() % a.length];
  const modrm = (mod: number, reg: number, rm: number): number => (mod << 6) | (reg << 3) | rm;
  const imm32 = (): number[] => { const v = r(); return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]; };
  const imm8 = (): number => r() & 0xff;
  const d8 = (): number => (r() % 64) * 4 + (r() & 3); // [ebx + d8] stays in the data area
  // A memory operand: [ebx + d8] or [ebx + esi*4 + d8] (ESI = 8).
  const mem = (reg: number): number[] => (r() & 1) === 0 ? [modrm(1, reg, 3), d8()] : [modrm(1, reg, 4), (2 << 6) | (6 << 3) | 3, d8()];
  const src = (): number => r() & 7;
  const kind = r() % 30;
  const aluOp = (r() & 7) << 3;
  const o16 = (r() & 7) === 0 ? [0x66] : [];
  switch (kind) {
    case 0: return [...o16, aluOp | 1, modrm(3, src(), pick(DST))];              // ALU Ev,Gv (reg)
    case 1: return [...o16, aluOp | 3, modrm(3, pick(DST), src())];              // ALU Gv,Ev (reg)
    case 2: return [...o16, aluOp | 1, ...mem(src())];                            // ALU [m],Gv
    case 3: return [...o16, aluOp | 3, ...mem(pick(DST))];                        // ALU Gv,[m]
    case 4: return [0x81, modrm(3, aluOp >> 3, pick(DST)), ...imm32()];
    case 5: return [...o16, 0x83, modrm(3, aluOp >> 3, pick(DST)), imm8()];
    case 6: return [0x83, ...mem(aluOp >> 3), imm8()];
    case 7: return [aluOp | 0, modrm(3, src(), pick(DST8))];                      // ALU Eb,Gb
    case 8: return [aluOp | 2, ...mem(pick(DST8))];                               // ALU Gb,[m]
    case 9: return [0x80, modrm(3, aluOp >> 3, pick(DST8)), imm8()];
    case 10: return [aluOp | 5, ...imm32()];                                      // ALU eAX,Iz
    case 11: return (r() & 1) ? [...o16, 0x89, modrm(3, src(), pick(DST))] : [...o16, 0x8b, modrm(3, pick(DST), src())]; // MOV reg
    case 12: return [...o16, 0x89, ...mem(src())];
    case 13: return [...o16, 0x8b, ...mem(pick(DST))];
    case 14: return [pick([0x88, 0x8a]), ...mem(pick(DST8))];
    case 15: return [0xb8 + pick(DST), ...imm32()];
    case 16: return [0x8d, ...mem(pick(DST))];                                    // LEA
    case 17: return [0x0f, pick([0xb6, 0xb7, 0xbe, 0xbf]), ...(r() & 1 ? [modrm(3, pick(DST), src())] : mem(pick(DST)))];
    case 18: {                                                                    // shifts and rotates
      const op = pick([0xc1, 0xc1, 0xd1, 0xd3]);
      const m = modrm(3, r() & 7, pick(DST));
      return op === 0xc1 ? [...o16, op, m, imm8() & pick([0x1f, 0xff, 1, 0])] : [...o16, op, m];
    }
    case 19: return [0xc1, ...mem(pick([4, 5, 7])), imm8() & 0x3f];
    case 20: return [pick([0x40, 0x48]) + pick(DST)];
    case 21: return [pick([0xfe, 0xff]), ...(r() & 1 ? [modrm(3, r() & 1, pick(DST8))] : mem(r() & 1))];
    case 22: return [pick([0x85, 0x84]), modrm(3, src(), pick(DST))];
    case 23: return r() & 1 ? [0xf7, modrm(3, pick([2, 3, 4]), pick(DST))] : [0xf7, modrm(3, 0, pick(DST)), ...imm32()]; // NOT NEG MUL / TEST
    case 24: return [0x0f, 0xaf, modrm(3, pick(DST), src())];
    case 25: return (r() & 1) ? [0x0f, 0x40 + (r() & 15), modrm(3, pick(DST), src())] : [0x0f, 0x90 + (r() & 15), modrm(3, 0, pick(DST8))]; // CMOVcc SETcc
    case 26: return pick([[0x50 + src(), 0x58 + pick(DST)], [0x6a, imm8(), 0x58 + pick(DST)], [0x99], [0x98], [0xf8], [0xf9], [0xf5]]);
    case 27: return [0x0f, 0x31];                                                  // RDTSC
    case 28: return (r() & 1) ? [0x6b, modrm(3, pick(DST), src()), imm8()] : [0x69, ...(r() & 1 ? [modrm(3, pick(DST), src())] : mem(pick(DST))), ...imm32()];
    default: return [0x0f, pick([0xa3, 0xab, 0xbc, 0xbd]), modrm(3, pick(DST), src())];
  }
}

/** A block of random instructions ending in a branch whose two outcomes land on different HLTs. */
function randomBlock(r: () => number): number[] {
  const code: number[] = [];
  const n = 1 + (r() % 24);
  for (let k = 0; k < n; k++) code.push(...randomInsn(r));
  switch (r() % 4) {
    case 0: code.push(0x70 + (r() & 15), 1, 0xf4, 0xf4); break;            // Jcc +1
    case 1: code.push(0x0f, 0x80 + (r() & 15), 1, 0, 0, 0, 0xf4, 0xf4); break; // Jcc rel32 +1
    case 2: code.push(0xe8, 1, 0, 0, 0, 0xf4, 0xc3); break;                 // CALL +1; RET lands on the HLT
    default: code.push(0xf4); break;
  }
  return code;
}

function randomInit(seed: number): (b: Bare) => void {
  return (b) => {
    const r = rng(seed * 7919 + 1);
    const c = b.cpu;
    for (const k of [0, 1, 2, 5, 7]) c.r32[k] = r() % 3 === 0 ? r() % 5 : r();
    c.r32[3] = DATA; c.r32[6] = 8;
    c.setFlagBits(r(), 0x8d5);
    for (let a = DATA; a < DATA + 0x400; a += 4) b.mem.write(a, 4, r());
  };
}

test('random blocks: compiled = interpreted (registers, EFLAGS, EIP, count, memory)', { skip: !JIT_AVAILABLE }, () => {
  const before = jitStats.compiled;
  for (let seed = 1; seed <= 1500; seed++) {
    const code = randomBlock(rng(seed));
    try { both(code, randomInit(seed), machine32, 2); } catch (e) {
      throw new Error(`seed ${seed}: ${code.map((x) => x.toString(16).padStart(2, '0')).join(' ')}\n${(e as Error).message}`);
    }
  }
  assert.ok(jitStats.compiled - before >= 1500, 'blocks were compiled');
  assert.equal(jitStats.failed, 0);
});

test('a fault in the middle of a compiled block: EIP of the faulting instruction, retired count exact', { skip: !JIT_AVAILABLE }, () => {
  // inc eax; add ecx, eax; mov edx, [ebx + 0x20000] (beyond the DS limit: #GP); inc edi; hlt
  const o = both([0x40, 0x01, 0xc1, 0x8b, 0x93, 0x00, 0x00, 0x02, 0x00, 0x47, 0xf4], (b) => { b.cpu.r32[3] = DATA; }, machine32, 3);
  assert.equal(o.stop, Stop.Halted);
  assert.equal(o.eip, HANDLERS + 13 + 1);               // halted in the #GP handler
  assert.equal(o.stack[0x100 - 12], 0x03);               // saved EIP = CODE + 3, the MOV
  assert.equal(o.stack[0x100 - 11], 0x10);
  assert.equal(o.regs[0], 3);                             // INC EAX ran three times, INC EDI never
  assert.equal(o.regs[7], 0);
  assert.equal(o.insns, 3 * 3);                           // per run: INC, ADD, the HLT of the handler
});

test('RDTSC inside a compiled block reads the exact instruction count', { skip: !JIT_AVAILABLE }, () => {
  // nop; nop; inc eax; rdtsc; mov ecx, eax; inc eax; rdtsc; hlt
  const o = both([0x90, 0x90, 0x40, 0x0f, 0x31, 0x89, 0xc1, 0x40, 0x0f, 0x31, 0xf4], () => {}, machine32, 2);
  assert.equal(o.regs[1] >>> 0, 8 + 3);                  // second run: the 8 instructions of the first, then 3
  assert.equal(o.regs[0] >>> 0, 8 + 6);
});

test('self-modifying code inside a compiled block ends it; the new bytes run', { skip: !JIT_AVAILABLE }, () => {
  // mov byte [CODE + 9], 0x47 (inc edi over the NOP); inc eax; nop; hlt — then the loop runs it again
  const o = both([0xc6, 0x05, 0x09, 0x10, 0x00, 0x00, 0x47, 0x40, 0x90, 0x90, 0xf4], (b) => { b.cpu.r32[7] = 0; }, machine32, 3);
  assert.equal(o.regs[7], 3);
  assert.equal(o.regs[0], 3);
});

test('16-bit code (real mode): compiled = interpreted', { skip: !JIT_AVAILABLE }, () => {
  const real = (t: number): Bare => { const b = makeCpu(); setupReal(b.cpu, 0x100, CODE - 0x1000); b.cpu.jitThreshold = t; return b; };
  // mov ax, 0xfff0; add ax, 0x20; push ax; pop cx; lea dx, [bx+si+5]; shl cx, 3; jc +1; hlt; hlt
  const code = [0xb8, 0xf0, 0xff, 0x05, 0x20, 0x00, 0x50, 0x59, 0x8d, 0x50, 0x05, 0xc1, 0xe1, 0x03, 0x72, 0x01, 0xf4, 0xf4];
  const o = both(code, (b) => { b.cpu.r16[6] = 0x10; b.cpu.r16[12] = 0x20; }, real, 2);
  assert.equal(o.regs[0] & 0xffff, 0x0010);
  assert.equal(o.regs[2] & 0xffff, 0x35);
});
