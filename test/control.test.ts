// Control family tests: far JMP/CALL/RET (real mode, call gates), INT/IRET (real, ring 3 → 0,
// V86), SYSENTER/SYSEXIT, BOUND, LDS/LSS, MOV Sreg. Protected-mode tests build a GDT, IDT and TSS
// in RAM and set the CPU's table registers directly.
//
// The byte arrays at the end were assembled with nasm from the source shown in their comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { Stop, Mode } from '../machine/cpu/state.js';
import { AR, EFLAGS, SEG } from '../machine/cpu/arch.js';

// ------------------------------------------------------------------ helpers
const GDT = 0x10000, IDT = 0x11000, TSS = 0x12000, TSS2 = 0x13000;
const ESP0 = 0x70000, ESP3 = 0x80000;
const GP_HANDLER = 0x4000;

function wr(b: Bare, pa: number, size: number, v: number): void { b.mem.write(pa, size, v); }
function rd(b: Bare, pa: number, size = 4): number { return b.mem.read(pa, size) >>> 0; }

/** Code/data descriptor: `access` = byte 5 (P, DPL, S, type), `flags` = G, D/B nibble. */
function segDesc(b: Bare, sel: number, base: number, limit: number, access: number, flags: number): void {
  wr(b, GDT + sel, 4, (limit & 0xffff) | ((base & 0xffff) << 16));
  wr(b, GDT + sel + 4, 4, ((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000));
}
/** Gate descriptor (call/interrupt/trap) at `addr`. */
function gateDesc(b: Bare, addr: number, sel: number, off: number, access: number, params = 0): void {
  wr(b, addr, 4, (off & 0xffff) | (sel << 16));
  wr(b, addr + 4, 4, (off & 0xffff0000) | (access << 8) | params);
}
function idtGate(b: Bare, vec: number, off: number, dpl: number): void { gateDesc(b, IDT + vec * 8, 0x08, off, 0x8e | (dpl << 5)); }
function ivt(b: Bare, vec: number, seg: number, off: number): void { wr(b, vec * 4, 2, off); wr(b, vec * 4 + 2, 2, seg); }

const CODE = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
const DATA = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
const DPL3 = 3 << AR.DPL_SHIFT;

/**
 * Flat protected mode with a GDT: 08 code0, 10 data0, 18 code3, 20 data3, 28 busy TSS (ESP0/SS0 =
 * 70000/10), 30 32-bit call gate DPL 3 → 08:3000 with 2 parameters, 40 conforming code DPL 0,
 * 48 available TSS. IDT: #GP → 08:4000 (HLT), 80h DPL 3 and 81h DPL 0 → 08:3100, 21h DPL 3 → 08:3200.
 */
function setupPM(b: Bare, ring: 0 | 3, eip = 0x1000): void {
  const cpu = b.cpu;
  setupFlat32(cpu, eip);
  segDesc(b, 0x08, 0, 0xfffff, 0x9a, 0xc);
  segDesc(b, 0x10, 0, 0xfffff, 0x92, 0xc);
  segDesc(b, 0x18, 0, 0xfffff, 0xfa, 0xc);
  segDesc(b, 0x20, 0, 0xfffff, 0xf2, 0xc);
  segDesc(b, 0x28, TSS, 0x67, 0x8b, 0);
  gateDesc(b, GDT + 0x30, 0x08, 0x3000, 0xec, 2);
  segDesc(b, 0x40, 0, 0xfffff, 0x9e, 0xc);
  segDesc(b, 0x48, TSS2, 0x67, 0x89, 0);
  wr(b, TSS + 4, 4, ESP0); wr(b, TSS + 8, 4, 0x10);
  idtGate(b, 13, GP_HANDLER, 0);
  idtGate(b, 0x80, 0x3100, 3);
  idtGate(b, 0x81, 0x3100, 0);
  idtGate(b, 0x21, 0x3200, 3);
  poke(b, GP_HANDLER, HLT);
  cpu.gdtrBase = GDT; cpu.gdtrLimit = 0x4f; cpu.idtrBase = IDT; cpu.idtrLimit = 0x7ff;
  cpu.setSegCache(SEG.TR, 0x28, TSS, 0x67, AR.P | 11);
  if (ring === 3) {
    cpu.setSegCache(SEG.CS, 0x1b, 0, 0xffffffff, CODE | DPL3);
    for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) cpu.setSegCache(s, 0x23, 0, 0xffffffff, DATA | DPL3);
    cpu.cpl = 3; // CPL is processor state of its own (hidden), set here like the other hidden parts
    cpu.updateMode();
  }
  cpu.r32[4] = ESP3;
}

/** The #GP handler halted: its frame (error code, EIP, CS, ...) from the ring-0 stack. */
function gpFrame(b: Bare, slots = 3): number[] {
  const esp = b.cpu.r32[4] >>> 0;
  return Array.from({ length: slots }, (_, k) => rd(b, esp + 4 * k));
}

// ------------------------------------------------------------------ real mode

test('real mode: far call/retf (ptr, m16:16, o32, retf Iw) and far jmp (m16:16, ptr)', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0x100, 0);
  poke(b, 0x1000, REAL_MAIN);
  poke(b, 0x2010, REAL_F1);
  poke(b, 0x2120, REAL_F2);
  poke(b, 0x2030, REAL_F3);
  poke(b, 0x3005, REAL_F4);
  poke(b, 0x4001, HLT);
  wr(b, 0x600, 2, 0x0020); wr(b, 0x602, 2, 0x0210); // call far [0x600] → 0210:0020
  wr(b, 0x604, 2, 0x0005); wr(b, 0x606, 2, 0x0300); // jmp far [0x604] → 0300:0005
  assert.equal(runToHlt(b), Stop.Halted);
  const c = b.cpu;
  assert.equal(c.r16[0], 0x200, 'AX = CS inside the first callee');
  assert.equal(c.r16[4], 0x8000, 'DX = SP after retf');
  assert.equal(c.r16[6], 0x210, 'BX = CS inside the m16:16 callee');
  assert.equal(c.r16[2], 0x8000 - 8, 'CX = SP inside the o32 callee (two dwords pushed)');
  assert.equal(c.r16[12], 0x300, 'SI = CS after jmp far [mem]');
  assert.equal(c.r16[8], 0x8000, 'retf 2 released the pushed word');
  assert.equal(c.segSel[SEG.CS], 0x400);
  assert.equal(c.segBase[SEG.CS], 0x4000);
  assert.equal(c.eip, 2);
});

test('real mode: INT n / INT3 / INTO through the IVT and IRET; INT1', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0, 0x1000);
  ivt(b, 0x21, 0, 0x900); ivt(b, 3, 0, 0xa00); ivt(b, 4, 0, 0xb00);
  poke(b, 0x1000, REAL_INT);
  poke(b, 0x900, RH_21); poke(b, 0xa00, RH_3); poke(b, 0xb00, RH_4);
  b.cpu.r32[2] = 0; // EDX holds the CPU signature after reset
  b.cpu.flags |= EFLAGS.IF;
  assert.equal(runToHlt(b), Stop.Halted);
  const c = b.cpu;
  assert.equal(c.r16[6], 0x42, 'INT 21h handler ran');
  assert.equal(c.r16[2], 1, 'INT3 handler ran once');
  assert.equal(c.r16[4], 1, 'INTO trapped only with OF = 1');
  assert.equal(c.r16[8], 0x8000);
  assert.equal(c.flags & EFLAGS.IF, EFLAGS.IF, 'IRET restored IF');

  // INT1 (ICEBP): #DB with the return address of the next instruction.
  setupReal(b.cpu, 0, 0x1000);
  ivt(b, 1, 0, 0xc00);
  poke(b, 0xc00, HLT);
  poke(b, 0x1000, [0xf1, 0xf4]);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(c.eip, 0xc01);
  assert.equal(rd(b, 0x8000 - 6, 2), 0x1001);
});

test('BOUND: in range (16 and 32-bit, signed) passes; out of range is #BR at the instruction', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0, 0x1000);
  ivt(b, 5, 0, 0x700);
  poke(b, 0x700, HLT);
  poke(b, 0x1000, BOUND);
  wr(b, 0x500, 2, 0); wr(b, 0x502, 2, 10);
  wr(b, 0x508, 4, -5); wr(b, 0x50c, 4, 5);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.eip, 0x701, 'the #BR handler ran');
  assert.equal(rd(b, 0x8000 - 6, 2), 0x1015, 'pushed IP = the faulting BOUND');
});

test('LSS / LDS in real mode load the segment (base = sel × 16) and the offset', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0, 0x1000);
  poke(b, 0x1000, LDS_REAL);
  wr(b, 0x600, 2, 0x1234); wr(b, 0x602, 2, 0x5678);
  wr(b, 0x610, 4, 0x12345); wr(b, 0x614, 2, 0x0700);
  assert.equal(runToHlt(b), Stop.Halted);
  const c = b.cpu;
  assert.equal(c.r32[4], 0x12345);
  assert.equal(c.segSel[SEG.SS], 0x700); assert.equal(c.segBase[SEG.SS], 0x7000);
  assert.equal(c.r16[12], 0x1234);
  assert.equal(c.segSel[SEG.DS], 0x5678); assert.equal(c.segBase[SEG.DS], 0x56780);
});

test('MOV Sreg: MOV SS holds off an interrupt for one instruction, MOV DS does not', () => {
  for (const [code, ip, bx] of [[MOVSS_SHADOW, 0x1003, 1], [MOVDS_NOSHADOW, 0x1002, 0]] as const) {
    const b = makeCpu();
    setupReal(b.cpu, 0, 0x1000);
    ivt(b, 0x20, 0, 0xe00);
    poke(b, 0xe00, HLT);
    poke(b, 0x1000, code);
    let acked = false;
    b.cpu.intc = { hasInterrupt: () => !acked && b.clock.insns >= 1, acknowledge: () => { acked = true; return 0x20; } };
    b.cpu.flags |= EFLAGS.IF;
    assert.equal(runToHlt(b), Stop.Halted);
    assert.equal(b.cpu.eip, 0xe01, 'interrupt handler ran');
    assert.equal(rd(b, 0x8000 - 6, 2), ip, 'interrupted IP');
    assert.equal(b.cpu.r16[6], bx);
  }
});

test('MOV r32,Sreg zero-extends; MOV m,Sreg writes 16 bits; MOV CS,r is #UD', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0, 0x1000);
  b.cpu.loadSegReal(SEG.DS, 0x50);
  b.cpu.loadSegReal(SEG.ES, 0x1234);
  ivt(b, 6, 0, 0xd00);
  poke(b, 0xd00, HLT);
  poke(b, 0x1000, MOV_SREG);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r32[0], 0x50);
  assert.equal(rd(b, 0x500 + 0x700), 0xffff1234);
  assert.equal(b.cpu.eip, 0xd01, '#UD handler ran');
  assert.equal(rd(b, 0x8000 - 6, 2), 0x1017, 'pushed IP = MOV CS');
});

test('SYSENTER in real mode is #GP(0)', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0, 0x1000);
  b.cpu.sysenterCs = 0x08;
  ivt(b, 13, 0, 0xc00);
  poke(b, 0xc00, HLT);
  poke(b, 0x1000, [0x0f, 0x34]);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.eip, 0xc01);
  assert.equal(rd(b, 0x8000 - 6, 2), 0x1000);
});

// ------------------------------------------------------------------ protected mode

test('far call through a 32-bit call gate from CPL 3 to CPL 0 copies 2 parameters; retf 8 returns to ring 3', () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_GATE_R3);
  poke(b, 0x3000, PM_GATE_H);
  assert.equal(runToHlt(b, 100), Stop.Budget);
  const c = b.cpu;
  // Inside the ring-0 procedure.
  assert.equal(c.r32[0], 0x22222222, 'param 0 at [esp+8]');
  assert.equal(c.r32[3], 0x11111111, 'param 1 at [esp+12]');
  assert.equal(c.r32[1], ESP3 - 8, 'caller ESP at [esp+16]');
  assert.equal(c.r32[2], 0x23, 'caller SS at [esp+20]');
  assert.equal(c.r32[7], 0x1b, 'caller CS at [esp+4]');
  assert.equal(c.r32[5], ESP0 - 24, 'frame on the TSS ring-0 stack');
  assert.equal(rd(b, ESP0 - 24), 0x1011, 'return EIP');
  // Back in ring 3.
  assert.equal(c.cpl, 3);
  assert.equal(c.segSel[SEG.CS], 0x1b);
  assert.equal(c.segSel[SEG.SS], 0x23);
  assert.equal(c.r32[4], ESP3, 'retf 8 released the parameters on the caller stack');
  assert.equal(c.r32[6], 0, 'DS (DPL 0, loaded by the callee) was nulled on the way out');
  assert.equal(c.eip, 0x1013);
});

test('INT 80h from ring 3 through a DPL-3 interrupt gate: stack switch, frame, IRET back', () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_INT_R3);
  poke(b, 0x3100, PM_INT_H);
  b.cpu.flags |= EFLAGS.IF;
  assert.equal(runToHlt(b, 100), Stop.Budget);
  const c = b.cpu;
  const f = ESP0 - 20;
  assert.equal(c.r32[5], f, 'handler ESP: 5 dwords below ESP0');
  assert.deepEqual([rd(b, f), rd(b, f + 4), rd(b, f + 12), rd(b, f + 16)], [0x1007, 0x1b, ESP3, 0x23]);
  assert.equal(rd(b, f + 8) & EFLAGS.IF, EFLAGS.IF, 'pushed EFLAGS has IF');
  assert.equal(c.r32[7] & EFLAGS.IF, 0, 'interrupt gate cleared IF');
  assert.equal(c.r32[6], 42, 'IRET returned to the instruction after INT');
  assert.equal(c.cpl, 3);
  assert.equal(c.r32[4], ESP3);
  assert.equal(c.segSel[SEG.SS], 0x23);
  assert.equal(c.flags & EFLAGS.IF, EFLAGS.IF);
  assert.equal(c.eip, 0x1009);
});

test('INT n from ring 3 to a DPL-0 gate is #GP(vector*8+2)', {
}, () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_INT_DPL0);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  const [err, eip, cs] = gpFrame(b);
  assert.equal(err, 0x81 * 8 + 2);
  assert.equal(cs, 0x1b);
  assert.equal(eip, 0x1000, 'a fault of the INT instruction itself');
});

test('IRET at CPL 0 to virtual-8086 mode; INT n there with IOPL < 3 is #GP(0)', () => {
  const b = makeCpu();
  setupPM(b, 0);
  poke(b, 0x1000, PM_TO_V86);
  poke(b, 0x20010, V86_GP);
  wr(b, 0x30004, 2, 0xbeef);
  b.cpu.r32[3] = EFLAGS.VM | EFLAGS.FIXED1; // EFLAGS image (pushed from EBX): IOPL 0
  assert.equal(runToHlt(b, 100), Stop.Halted);
  const c = b.cpu;
  assert.equal(c.r16[0], 0xbeef, 'V86 read DS:4 with DS base 30000h');
  assert.equal(c.r16[6], 0x2000); assert.equal(c.r16[2], 0x2000);
  assert.equal(c.mode, Mode.Protected);
  assert.equal(c.r32[4], ESP0 - 40, 'V86 frame: GS FS DS ES SS ESP EFLAGS CS EIP + error code');
  const fr = gpFrame(b, 10);
  assert.deepEqual([fr[0], fr[1], fr[2]], [0, 0x17, 0x2000]);
  assert.equal(fr[3] & EFLAGS.VM, EFLAGS.VM);
  assert.deepEqual(fr.slice(4), [0x100, 0x2000, 0, 0x3000, 0, 0]);
  assert.equal(c.segSel[SEG.DS], 0, 'data segments nulled on leaving V86');
});

test('V86 with IOPL = 3: INT n to ring 0 and IRETD back to V86; IRET inside V86', () => {
  const b = makeCpu();
  setupPM(b, 0);
  poke(b, 0x1000, PM_TO_V86);
  poke(b, 0x20010, V86_RT);
  poke(b, 0x20030, V86_RT2);
  poke(b, 0x3200, PM_V86_H);
  b.cpu.r32[3] = EFLAGS.VM | EFLAGS.IOPL | EFLAGS.FIXED1;
  assert.equal(runToHlt(b, 100), Stop.Budget);
  const c = b.cpu;
  assert.equal(c.r32[3], 0, 'the ring-0 handler saw DS nulled');
  assert.equal(c.r16[12], 0x77, 'back in V86 after the handler');
  assert.equal(c.r16[4], 0x99, 'V86 IRET reached 2000:0030');
  assert.equal(c.mode, Mode.V86);
  assert.equal(c.cpl, 3);
  assert.equal(c.segSel[SEG.CS], 0x2000);
  assert.equal(c.segSel[SEG.DS], 0x3000); assert.equal(c.segBase[SEG.DS], 0x30000);
  assert.equal(c.r16[8], 0x100);
  assert.equal(c.eip, 0x33);
});

test('SYSENTER / SYSEXIT round trip between ring 3 and ring 0', () => {
  const b = makeCpu();
  setupPM(b, 3);
  const c = b.cpu;
  c.sysenterCs = 0x08; c.sysenterEsp = ESP0; c.sysenterEip = 0x3400;
  c.flags |= EFLAGS.IF;
  poke(b, 0x1000, SYS_R3);
  poke(b, 0x1100, SYS_R3_RET);
  poke(b, 0x3400, SYS_H);
  assert.equal(runToHlt(b, 100), Stop.Budget);
  assert.deepEqual([c.r32[0], c.r32[3], c.r32[5]], [0x08, 0x10, ESP0], 'ring 0 CS, SS, ESP');
  assert.equal(c.r32[6], 1);
  assert.equal(c.cpl, 3);
  assert.equal(c.segSel[SEG.CS], 0x1b); assert.equal(c.segSel[SEG.SS], 0x23);
  assert.equal(c.segAr[SEG.CS] & AR.DPL_MASK, DPL3);
  assert.equal(c.r32[4], ESP3);
  assert.equal(c.flags & EFLAGS.IF, 0, 'SYSENTER cleared IF');
  assert.equal(c.eip, 0x1105);
});

test('SYSEXIT at CPL 3 is #GP(0)', () => {
  const b = makeCpu();
  setupPM(b, 3);
  b.cpu.sysenterCs = 0x08;
  poke(b, 0x1000, [0x0f, 0x35]);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.deepEqual(gpFrame(b), [0, 0x1000, 0x1b]);
});

test('LDS of a DPL-0 data segment at CPL 3 is #GP(sel), the offset register unchanged; LSS at CPL 0', () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_LDS_R3);
  wr(b, 0x600, 4, 0x1234); wr(b, 0x604, 2, 0x10);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.deepEqual(gpFrame(b), [0x10, 0x1005, 0x1b]);
  assert.equal(b.cpu.r32[6], 0x55);

  setupPM(b, 0);
  poke(b, 0x1000, PM_LSS_R0);
  wr(b, 0x610, 4, 0x6000); wr(b, 0x614, 2, 0x10);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.equal(b.cpu.r32[4], 0x6000);
  assert.equal(b.cpu.r32[0], 0x10);
});

test('far jmp from CPL 3 to a non-conforming DPL-0 segment is #GP(sel)', () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_JMP_DPL0);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.deepEqual(gpFrame(b), [0x08, 0x1000, 0x1b]);
});

test('far call to a conforming segment keeps CPL 3 (CS.RPL = 3) and retf returns', {
}, () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_CALL_CONF);
  poke(b, 0x3500, PM_CONF_H);
  assert.equal(runToHlt(b, 100), Stop.Budget);
  const c = b.cpu;
  assert.equal(c.r32[0], 0x43);
  assert.equal(c.r32[3], 0x23);
  assert.equal(c.r32[6], 0x1b);
  assert.equal(c.r32[4], ESP3);
  assert.equal(c.eip, 0x1009);
});

test('IRET from CPL 3 to a CPL-0 code segment is #GP(sel)', () => {
  const b = makeCpu();
  setupPM(b, 3);
  poke(b, 0x1000, PM_IRET_INNER);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.deepEqual(gpFrame(b), [0x08, 0x1008, 0x1b]);
});

test('retf from CPL 0 to CPL 3 loads SS:ESP and nulls DPL-0 data segments', () => {
  const b = makeCpu();
  setupPM(b, 0);
  poke(b, 0x1000, PM_RETF_R0_TO_R3);
  poke(b, 0x1100, PM_R3_SPIN);
  assert.equal(runToHlt(b, 100), Stop.Budget);
  const c = b.cpu;
  assert.equal(c.cpl, 3);
  assert.equal(c.segSel[SEG.CS], 0x1b); assert.equal(c.segSel[SEG.SS], 0x23);
  assert.equal(c.r32[4], 0x7fff0);
  for (const s of [SEG.ES, SEG.DS, SEG.FS, SEG.GS]) {
    assert.equal(c.segSel[s], 0);
    assert.equal(c.segAr[s] & AR.UNUSABLE, AR.UNUSABLE);
  }
  assert.equal(c.eip, 0x1100);
});

test('far jmp to an available TSS stops with a report; to a busy TSS is #GP(sel)', () => {
  const b = makeCpu();
  setupPM(b, 0);
  poke(b, 0x1000, PM_JMP_TSS);
  assert.equal(runToHlt(b, 100), Stop.Unsupported);
  assert.match(b.cpu.stopMessage, /task switch/);
  assert.equal(b.cpu.eip, 0x1000);

  setupPM(b, 0);
  poke(b, 0x1000, PM_JMP_BUSY_TSS);
  assert.equal(runToHlt(b, 100), Stop.Halted);
  assert.deepEqual(gpFrame(b), [0x28, 0x1000, 0x08]);
});

// ------------------------------------------------------------------ code (nasm output)
const REAL_MAIN = [
  0x9a, 0x10, 0x00, 0x00, 0x02, // call 0x200:0x0010
  0x89, 0xe2, // mov dx, sp
  0x68, 0x34, 0x12, // push word 0x1234
  0xff, 0x1e, 0x00, 0x06, // call far [0x600]
  0x66, 0x9a, 0x30, 0x00, 0x00, 0x00, 0x00, 0x02, // call dword 0x200:0x0030
  0xff, 0x2e, 0x04, 0x06, // jmp far [0x604]
];
const REAL_F1 = [
  0x8c, 0xc8, // mov ax, cs
  0xcb, // retf
];
const REAL_F2 = [
  0x8c, 0xcb, // mov bx, cs
  0xca, 0x02, 0x00, // retf 2
];
const REAL_F3 = [
  0x89, 0xe1, // mov cx, sp
  0x66, 0xcb, // o32 retf
];
const REAL_F4 = [
  0x8c, 0xce, // mov si, cs
  0xea, 0x01, 0x00, 0x00, 0x04, // jmp 0x400:0x0001
];
const REAL_INT = [
  0xcd, 0x21, // int 0x21
  0xcc, // int3
  0xb0, 0x7f, // mov al, 0x7f
  0x04, 0x01, // add al, 1
  0xce, // into
  0xb0, 0x00, // mov al, 0
  0x04, 0x01, // add al, 1
  0xce, // into
  0xf4, // hlt
];
const RH_21 = [
  0xbb, 0x42, 0x00, // mov bx, 0x42
  0xcf, // iret
];
const RH_3 = [
  0x41, // inc cx
  0xcf, // iret
];
const RH_4 = [
  0x42, // inc dx
  0xcf, // iret
];
const BOUND = [
  0xb8, 0x05, 0x00, // mov ax, 5
  0x62, 0x06, 0x00, 0x05, // bound ax, [0x500]
  0x66, 0xb8, 0xfd, 0xff, 0xff, 0xff, // mov eax, -3
  0x66, 0x62, 0x06, 0x08, 0x05, // bound eax, [0x508]
  0xb8, 0x0b, 0x00, // mov ax, 11
  0x62, 0x06, 0x00, 0x05, // bound ax, [0x500]
  0xf4, // hlt
];
const LDS_REAL = [
  0x66, 0x0f, 0xb2, 0x26, 0x10, 0x06, // lss esp, [0x610]
  0xc5, 0x36, 0x00, 0x06, // lds si, [0x600]
  0xf4, // hlt
];
const MOVSS_SHADOW = [
  0x8e, 0xd0, // mov ss, ax
  0x43, // inc bx
  0x43, // inc bx
  0xf4, // hlt
];
const MOVDS_NOSHADOW = [
  0x8e, 0xd8, // mov ds, ax
  0x43, // inc bx
  0x43, // inc bx
  0xf4, // hlt
];
const MOV_SREG = [
  0x66, 0xb8, 0xff, 0xff, 0xff, 0xff, // mov eax, 0xffffffff
  0x66, 0x8c, 0xd8, // mov eax, ds
  0x66, 0xc7, 0x06, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff, // mov dword [0x700], 0xffffffff
  0x66, 0x8c, 0x06, 0x00, 0x07, // o32 mov [0x700], es
  0x8e, 0xc8, // mov cs, ax
];
const PM_GATE_R3 = [
  0x68, 0x11, 0x11, 0x11, 0x11, // push 0x11111111
  0x68, 0x22, 0x22, 0x22, 0x22, // push 0x22222222
  0x9a, 0x00, 0x00, 0x00, 0x00, 0x33, 0x00, // call 0x33:0
  0x8c, 0xde, // mov esi, ds
  0xeb, 0xfe, // jmp $
];
const PM_GATE_H = [
  0x8b, 0x44, 0x24, 0x08, // mov eax, [esp+8]
  0x8b, 0x5c, 0x24, 0x0c, // mov ebx, [esp+12]
  0x8b, 0x4c, 0x24, 0x10, // mov ecx, [esp+16]
  0x8b, 0x54, 0x24, 0x14, // mov edx, [esp+20]
  0x8b, 0x7c, 0x24, 0x04, // mov edi, [esp+4]
  0x89, 0xe5, // mov ebp, esp
  0x6a, 0x10, // push 0x10
  0x1f, // pop ds
  0xca, 0x08, 0x00, // retf 8
];
const PM_INT_R3 = [
  0xb8, 0x05, 0x00, 0x00, 0x00, // mov eax, 5
  0xcd, 0x80, // int 0x80
  0x89, 0xc6, // mov esi, eax
  0xeb, 0xfe, // jmp $
];
const PM_INT_H = [
  0x9c, // pushfd
  0x5f, // pop edi
  0x89, 0xe5, // mov ebp, esp
  0xb8, 0x2a, 0x00, 0x00, 0x00, // mov eax, 42
  0xcf, // iretd
];
const PM_INT_DPL0 = [
  0xcd, 0x81, // int 0x81
  0xeb, 0xfe, // jmp $
];
const PM_TO_V86 = [
  0x6a, 0x00, // push dword 0
  0x6a, 0x00, // push dword 0
  0x68, 0x00, 0x30, 0x00, 0x00, // push dword 0x3000
  0x6a, 0x00, // push dword 0
  0x68, 0x00, 0x20, 0x00, 0x00, // push dword 0x2000
  0x68, 0x00, 0x01, 0x00, 0x00, // push dword 0x0100
  0x53, // push ebx
  0x68, 0x00, 0x20, 0x00, 0x00, // push dword 0x2000
  0x6a, 0x10, // push dword 0x0010
  0xcf, // iretd
];
const V86_GP = [
  0xa1, 0x04, 0x00, // mov ax, [0x0004]
  0x8c, 0xcb, // mov bx, cs
  0x8c, 0xd1, // mov cx, ss
  0xcd, 0x21, // int 0x21
];
const V86_RT = [
  0xcd, 0x21, // int 0x21
  0x89, 0xfe, // mov si, di
  0x9c, // pushf
  0x0e, // push cs
  0x6a, 0x30, // push word 0x0030
  0xcf, // iret
];
const V86_RT2 = [
  0xba, 0x99, 0x00, // mov dx, 0x99
  0xeb, 0xfe, // jmp $
];
const PM_V86_H = [
  0x8c, 0xdb, // mov ebx, ds
  0xbf, 0x77, 0x00, 0x00, 0x00, // mov edi, 0x77
  0xcf, // iretd
];
const SYS_R3 = [
  0x89, 0xe1, // mov ecx, esp
  0xba, 0x00, 0x11, 0x00, 0x00, // mov edx, 0x1100
  0x0f, 0x34, // sysenter
];
const SYS_R3_RET = [
  0xbe, 0x01, 0x00, 0x00, 0x00, // mov esi, 1
  0xeb, 0xfe, // jmp $
];
const SYS_H = [
  0x8c, 0xc8, // mov eax, cs
  0x8c, 0xd3, // mov ebx, ss
  0x89, 0xe5, // mov ebp, esp
  0x0f, 0x35, // sysexit
];
const PM_LDS_R3 = [
  0xbe, 0x55, 0x00, 0x00, 0x00, // mov esi, 0x55
  0xc5, 0x35, 0x00, 0x06, 0x00, 0x00, // lds esi, [0x600]
  0xeb, 0xfe, // jmp $
];
const PM_LSS_R0 = [
  0x0f, 0xb2, 0x25, 0x10, 0x06, 0x00, 0x00, // lss esp, [0x610]
  0x8c, 0xd0, // mov eax, ss
  0xf4, // hlt
];
const PM_JMP_DPL0 = [
  0xea, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00, // jmp 0x08:0x2000
];
const PM_CALL_CONF = [
  0x9a, 0x00, 0x35, 0x00, 0x00, 0x43, 0x00, // call 0x43:0x3500
  0x8c, 0xce, // mov esi, cs
  0xeb, 0xfe, // jmp $
];
const PM_CONF_H = [
  0x8c, 0xc8, // mov eax, cs
  0x8c, 0xd3, // mov ebx, ss
  0xcb, // retf
];
const PM_IRET_INNER = [
  0x9c, // pushfd
  0x6a, 0x08, // push dword 0x08
  0x68, 0x00, 0x20, 0x00, 0x00, // push dword 0x2000
  0xcf, // iretd
];
const PM_JMP_TSS = [
  0xea, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, // jmp 0x48:0
];
const PM_JMP_BUSY_TSS = [
  0xea, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, // jmp 0x28:0
];
const PM_RETF_R0_TO_R3 = [
  0x6a, 0x23, // push dword 0x23
  0x68, 0xf0, 0xff, 0x07, 0x00, // push dword 0x7fff0
  0x6a, 0x1b, // push dword 0x1b
  0x68, 0x00, 0x11, 0x00, 0x00, // push dword 0x1100
  0x66, 0xb8, 0x10, 0x00, // mov ax, 0x10
  0x8e, 0xc0, // mov es, ax
  0xcb, // retf
];
const PM_R3_SPIN = [
  0xeb, 0xfe, // jmp $
];
const HLT = [
  0xf4, // hlt
];
