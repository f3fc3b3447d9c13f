// Port I/O: IN/OUT (E4-E7, EC-EF) and the I/O permission checks shared with INS/OUTS (string.ts).
// Every port access goes through portIn/portOut; in VMX non-root operation the I/O-exit check
// (machine/vmx/intercepts.ts io) sits between the permission check and the access (Vol3C 25.1.1).

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { AR, IOPL_SHIFT, SEG } from '../arch.js';
import { Mode } from '../state.js';
import * as vmx from '../../vmx/intercepts.js';

/**
 * Protection check for an access of `size` bytes at `port` (SDM Vol1 19.5.1-19.5.2, Vol3A 20.2.8.1):
 * allowed in real mode and when CPL <= IOPL in protected mode; otherwise (CPL > IOPL, or any
 * virtual-8086 code) the I/O permission bitmap of the current 32-bit TSS decides. The processor
 * reads two bitmap bytes per access, so both must lie within the TSS limit; every bit for
 * port..port+size-1 must be 0. Else #GP(0).
 */
export function checkIoPermission(c: CPU, port: number, size: number): void {
  if (c.mode === Mode.Real) return;
  if (c.mode === Mode.Protected && c.cpl <= ((c.flags >>> IOPL_SHIFT) & 3)) return;
  const ar = c.segAr[SEG.TR];
  const type = ar & AR.TYPE_MASK;
  // Only a 32-bit TSS (available 9 / busy 11, S = 0) has a bitmap; it must span at least 104 bytes.
  if ((ar & (AR.UNUSABLE | AR.S)) !== 0 || (type !== 9 && type !== 11)) c.gp(0);
  const limit = c.segLimit[SEG.TR];
  if (limit < 0x67) c.gp(0);
  const base = c.segBase[SEG.TR];
  const mapBase = c.rdSys((base + 0x66) | 0, 2);
  const off = mapBase + (port >>> 3);
  if (off + 1 > limit) c.gp(0);
  const bits = c.rdSys((base + off) | 0, 2);
  if (((bits >>> (port & 7)) & ((1 << size) - 1)) !== 0) c.gp(0);
}

/** Read `size` bytes from an I/O port (the single place every IN/INS reaches the bus). */
export function portIn(c: CPU, port: number, size: number): number {
  return c.io.in(port & 0xffff, size);
}

/** Write `size` bytes to an I/O port (the single place every OUT/OUTS reaches the bus). */
export function portOut(c: CPU, port: number, size: number, value: number): void {
  c.io.out(port & 0xffff, size, value);
}

// --- IN: port from imm8 or DX; 16-bit operand size reads AX, 32-bit EAX (SDM Vol2 IN) ---
export function op_E4_inALIb(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 1);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 1, true, false, true);
  c.r8[0] = portIn(c, i.imm, 1);
}
export function op_E5_ineAXIb16(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 2);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 2, true, false, true);
  c.r16[0] = portIn(c, i.imm, 2);
}
export function op_E5_ineAXIb32(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 4);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 4, true, false, true);
  c.r32[0] = portIn(c, i.imm, 4);
}
export function op_EC_inALDX(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 1);
  if (c.nonRoot !== null) vmx.io(c, i, port, 1, true, false, false);
  c.r8[0] = portIn(c, port, 1);
}
export function op_ED_ineAXDX16(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 2);
  if (c.nonRoot !== null) vmx.io(c, i, port, 2, true, false, false);
  c.r16[0] = portIn(c, port, 2);
}
export function op_ED_ineAXDX32(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 4);
  if (c.nonRoot !== null) vmx.io(c, i, port, 4, true, false, false);
  c.r32[0] = portIn(c, port, 4);
}

// --- OUT (SDM Vol2 OUT) ---
export function op_E6_outIbAL(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 1);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 1, false, false, true);
  portOut(c, i.imm, 1, c.r8[0]);
}
export function op_E7_outIbeAX16(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 2);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 2, false, false, true);
  portOut(c, i.imm, 2, c.r16[0]);
}
export function op_E7_outIbeAX32(c: CPU, i: Insn): void {
  checkIoPermission(c, i.imm, 4);
  if (c.nonRoot !== null) vmx.io(c, i, i.imm, 4, false, false, true);
  portOut(c, i.imm, 4, c.r32[0]);
}
export function op_EE_outDXAL(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 1);
  if (c.nonRoot !== null) vmx.io(c, i, port, 1, false, false, false);
  portOut(c, port, 1, c.r8[0]);
}
export function op_EF_outDXeAX16(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 2);
  if (c.nonRoot !== null) vmx.io(c, i, port, 2, false, false, false);
  portOut(c, port, 2, c.r16[0]);
}
export function op_EF_outDXeAX32(c: CPU, i: Insn): void {
  const port = c.r16[4];
  checkIoPermission(c, port, 4);
  if (c.nonRoot !== null) vmx.io(c, i, port, 4, false, false, false);
  portOut(c, port, 4, c.r32[0]);
}
