// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS (byte/word/dword) with REP/REPE/REPNE.
//
// Operands (SDM Vol1 7.3.9, Vol2 MOVS...): source DS:(E)SI (segment overridable), destination
// ES:(E)DI (never overridable); the address size picks SI/DI/CX (16-bit wrap) or ESI/EDI/ECX;
// EFLAGS.DF picks the direction. REP (F3, and F2 for the non-comparing forms) repeats (E)CX times;
// CMPS/SCAS with REPE/REPNE also stop when ZF becomes 0/1 (Vol2 "REP/REPE/REPZ/REPNE/REPNZ").
//
// Restartability: (E)CX, (E)SI and (E)DI are updated after every completed iteration, so a fault
// in iteration k leaves the state of k completed iterations while the run loop rolls EIP back to
// the instruction (Vol2 REP: "a repeating string operation can be suspended by an exception or
// interrupt"). Long runs stop after REP_CHUNK iterations with EIP left at the instruction, which
// resumes them on the next execution; that lets interrupts and timers through.
//
// Fast path: REP MOVS/STOS with 32-bit addressing move whole runs within the current source and
// destination pages with typed-array copies, after one translation per page.

import type { CPU } from '../cpu.js';
import { Rep, type Insn } from '../insn.js';
import { EFLAGS, SEG } from '../arch.js';
import { Access } from '../paging.js';
import { checkIoPermission, portIn, portOut } from './io.js';
import * as vmx from '../../vmx/intercepts.js';

/** Iterations one execution of a REP instruction may run before yielding. */
const REP_CHUNK = 0x10000;
/** Result masks by element size (index 1, 2, 4). */
const MASK = [0, 0xff, 0xffff, 0, -1];

// ------------------------------------------------------------------ helpers
function rdN(c: CPU, lin: number, size: number): number {
  return size === 1 ? c.rd8(lin) : size === 2 ? c.rd16(lin) : c.rd32(lin);
}
function wrN(c: CPU, lin: number, size: number, v: number): void {
  if (size === 1) c.wr8(lin, v); else if (size === 2) c.wr16(lin, v); else c.wr32(lin, v);
}
function getAcc(c: CPU, size: number): number {
  return size === 1 ? c.r8[0] : size === 2 ? c.r16[0] : c.r32[0];
}
function setAcc(c: CPU, size: number, v: number): void {
  if (size === 1) c.r8[0] = v; else if (size === 2) c.r16[0] = v; else c.r32[0] = v;
}
/** Element step: +size, or -size with EFLAGS.DF = 1. */
function stepOf(c: CPU, size: number): number { return (c.flags & EFLAGS.DF) !== 0 ? -size : size; }
function srcSeg(i: Insn): number { return i.segOverride >= 0 ? i.segOverride : SEG.DS; }
/** Repeat count: CX or ECX (unsigned). */
function getCount(c: CPU, a32: boolean): number { return a32 ? c.r32[1] >>> 0 : c.r16[2]; }
function setCount(c: CPU, a32: boolean, n: number): void { if (a32) c.r32[1] = n; else c.r16[2] = n; }
function getSI(c: CPU, a32: boolean): number { return a32 ? c.r32[6] : c.r16[12]; }
function setSI(c: CPU, a32: boolean, v: number): void { if (a32) c.r32[6] = v; else c.r16[12] = v; }
function getDI(c: CPU, a32: boolean): number { return a32 ? c.r32[7] : c.r16[14]; }
function setDI(c: CPU, a32: boolean, v: number): void { if (a32) c.r32[7] = v; else c.r16[14] = v; }

/** Suspend a REP run with iterations left: re-execute this instruction next (counters already updated). */
function yieldRep(c: CPU): void {
  c.eip = c.prevEip;
  c.blockStop = true;
}

/**
 * How many of the next `max` elements at seg:off (linear `lin`), walking by `step`, lie in lin's
 * page and inside the segment's expand-up limit. 0 if the first element crosses the page end or
 * the segment needs the slow checks (the per-element path then faults at the exact element).
 */
function span(c: CPU, s: number, off: number, lin: number, size: number, step: number, max: number, write: boolean): number {
  const po = lin & 0xfff;
  if (po + size > 0x1000) return 0;
  const lim = write ? c.segWLim[s] : c.segRLim[s];
  const o = off >>> 0;
  let m: number;
  if (step > 0) {
    m = ((0x1000 - po) / size) | 0;
    const ml = Math.floor((lim - o + 1) / size);
    if (ml < m) m = ml;
  } else {
    if (o + size - 1 > lim) return 0;
    m = ((po / size) | 0) + 1;
    const ml = ((o / size) | 0) + 1; // no wrap below offset 0
    if (ml < m) m = ml;
  }
  return m < max ? (m < 0 ? 0 : m) : max;
}

/** A bulk write hit RAM at [pa, pa+len): drop decoded code there (cheap when none is marked). */
function noteWrite(c: CPU, pa: number, len: number): void {
  const cb = c.codeBits;
  for (let w = pa >>> 10, e = (pa + len - 1) >>> 10; w <= e; w++) {
    if (cb[w] !== 0) { c.checkCodeWrite(pa, len); return; }
  }
}

// ------------------------------------------------------------------ MOVS
function movsOne(c: CPU, a32: boolean, src: number, size: number, step: number): void {
  const si = getSI(c, a32), di = getDI(c, a32);
  const v = rdN(c, c.lin(src, si, size, false), size);
  wrN(c, c.lin(SEG.ES, di, size, true), size, v);
  setSI(c, a32, si + step); setDI(c, a32, di + step);
}

/**
 * 32-bit addressing: copy up to `max` elements that stay within the current source and destination
 * pages with one typed-array move; updates ESI/EDI and returns the count. Returns 0 to do one
 * element the slow way, or -m to do the next m elements the slow way (MMIO page, tight overlap).
 */
function movsBulk(c: CPU, src: number, size: number, step: number, max: number): number {
  const si = c.r32[6], di = c.r32[7];
  const sLin = (c.segBase[src] + si) | 0, dLin = (c.segBase[SEG.ES] + di) | 0;
  let m = span(c, src, si, sLin, size, step, max, false);
  if (m < 2) return 0;
  const md = span(c, SEG.ES, di, dLin, size, step, m, true);
  if (md < m) m = md;
  if (m < 2) return 0;
  // Translate in element order (source read, then destination write): faults as the first element would.
  const user = c.cpl === 3;
  const pS = c.translate(sLin, Access.Read, user);
  const pD = c.translate(dLin, Access.Write, user);
  if (!c.mem.isRamPage(pS) || !c.mem.isRamPage(pD) || c.watch !== null) return -m; // watchpoints: element by element
  // Overlap where the destination runs ahead of the source: element order replicates data, which a
  // memmove does not; so move at most `distance` bytes at a time (each chunk then reads only bytes
  // written by earlier chunks, as the element loop would).
  const d = step > 0 ? pD - pS : pS - pD;
  if (d > 0 && d < m * size) {
    if (d < 2 * size) return -m;
    m = (d / size) | 0;
  }
  const len = m * size;
  const back = step > 0 ? 0 : len - size;
  const s0 = pS - back, d0 = pD - back;
  const ram = c.ram;
  if (len > 64) ram.copyWithin(d0, s0, s0 + len);
  else if (step > 0) { for (let k = 0; k < len; k++) ram[d0 + k] = ram[s0 + k]; } // short: a loop beats the call
  else { for (let k = len - 1; k >= 0; k--) ram[d0 + k] = ram[s0 + k]; }
  noteWrite(c, d0, len);
  c.r32[6] = si + step * m; c.r32[7] = di + step * m;
  return m;
}

function movs(c: CPU, i: Insn, size: number): void {
  const a32 = i.a32, src = srcSeg(i), step = stepOf(c, size);
  if (i.rep === Rep.None) { movsOne(c, a32, src, size, step); return; }
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0 && budget !== 0) {
    const lim = n < budget ? n : budget;
    const k = a32 && lim > 1 ? movsBulk(c, src, size, step, lim) : 0;
    if (k > 0) { n -= k; budget -= k; setCount(c, a32, n); continue; }
    for (let e = k < 0 ? -k : 1; e > 0; e--) {
      movsOne(c, a32, src, size, step);
      n--; budget--;
      setCount(c, a32, n);
    }
  }
  if (n !== 0) yieldRep(c);
}

// ------------------------------------------------------------------ STOS
function stosOne(c: CPU, a32: boolean, size: number, step: number): void {
  const di = getDI(c, a32);
  wrN(c, c.lin(SEG.ES, di, size, true), size, getAcc(c, size));
  setDI(c, a32, di + step);
}

/** Fill [pa, pa+len) of RAM with `size`-byte copies of v. */
function fill(c: CPU, pa: number, len: number, size: number, v: number): void {
  if (size === 1) { c.ram.fill(v, pa, pa + len); return; }
  if (size === 4 && (pa & 3) === 0) { c.ram32.fill(v, pa >>> 2, (pa + len) >>> 2); return; }
  if (size === 2 && (pa & 1) === 0) { c.ram16.fill(v, pa >>> 1, (pa + len) >>> 1); return; }
  const m = c.ram, end = pa + len;
  for (let a = pa; a < end; a += size) {
    m[a] = v; m[a + 1] = v >>> 8;
    if (size === 4) { m[a + 2] = v >>> 16; m[a + 3] = v >>> 24; }
  }
}

/** 32-bit addressing: store up to `max` elements within the destination page at once (returns as movsBulk). */
function stosBulk(c: CPU, size: number, step: number, max: number): number {
  const di = c.r32[7];
  const dLin = (c.segBase[SEG.ES] + di) | 0;
  const m = span(c, SEG.ES, di, dLin, size, step, max, true);
  if (m < 2) return 0;
  const pD = c.translate(dLin, Access.Write, c.cpl === 3);
  if (!c.mem.isRamPage(pD) || c.watch !== null) return -m; // watchpoints: element by element
  const len = m * size;
  const d0 = step > 0 ? pD : pD - (len - size);
  fill(c, d0, len, size, getAcc(c, size));
  noteWrite(c, d0, len);
  c.r32[7] = di + step * m;
  return m;
}

function stos(c: CPU, i: Insn, size: number): void {
  const a32 = i.a32, step = stepOf(c, size);
  if (i.rep === Rep.None) { stosOne(c, a32, size, step); return; }
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0 && budget !== 0) {
    const lim = n < budget ? n : budget;
    const k = a32 && lim > 1 ? stosBulk(c, size, step, lim) : 0;
    if (k > 0) { n -= k; budget -= k; setCount(c, a32, n); continue; }
    for (let e = k < 0 ? -k : 1; e > 0; e--) {
      stosOne(c, a32, size, step);
      n--; budget--;
      setCount(c, a32, n);
    }
  }
  if (n !== 0) yieldRep(c);
}

// ------------------------------------------------------------------ LODS
function lodsOne(c: CPU, a32: boolean, src: number, size: number, step: number): void {
  const si = getSI(c, a32);
  setAcc(c, size, rdN(c, c.lin(src, si, size, false), size));
  setSI(c, a32, si + step);
}

function lods(c: CPU, i: Insn, size: number): void {
  const a32 = i.a32, src = srcSeg(i), step = stepOf(c, size);
  if (i.rep === Rep.None) { lodsOne(c, a32, src, size, step); return; }
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0 && budget !== 0) {
    lodsOne(c, a32, src, size, step);
    n--; budget--;
    setCount(c, a32, n);
  }
  if (n !== 0) yieldRep(c);
}

// ------------------------------------------------------------------ CMPS / SCAS
/** CMPS: compare [src:SI] with [ES:DI] (flags of src - dst); returns the masked difference. */
function cmpsOne(c: CPU, a32: boolean, src: number, size: number, step: number): number {
  const si = getSI(c, a32), di = getDI(c, a32);
  const a = rdN(c, c.lin(src, si, size, false), size);
  const b = rdN(c, c.lin(SEG.ES, di, size, false), size);
  const r = (a - b) & MASK[size];
  c.flagsSub(a, b, r, size * 8 - 1);
  setSI(c, a32, si + step); setDI(c, a32, di + step);
  return r;
}

/** SCAS: compare the accumulator with [ES:DI] (flags of acc - dst). */
function scasOne(c: CPU, a32: boolean, size: number, step: number): number {
  const di = getDI(c, a32);
  const b = rdN(c, c.lin(SEG.ES, di, size, false), size);
  const a = getAcc(c, size);
  const r = (a - b) & MASK[size];
  c.flagsSub(a, b, r, size * 8 - 1);
  setDI(c, a32, di + step);
  return r;
}

/**
 * REPE/REPNE loop for CMPS (scan = false) and SCAS (scan = true): (E)CX is decremented after each
 * compare; REPE stops when ZF = 0 (r ≠ 0), REPNE when ZF = 1 (r = 0).
 */
function repCompare(c: CPU, i: Insn, size: number, scan: boolean): void {
  const a32 = i.a32, src = srcSeg(i), step = stepOf(c, size);
  if (i.rep === Rep.None) {
    if (scan) scasOne(c, a32, size, step); else cmpsOne(c, a32, src, size, step);
    return;
  }
  const stopOnEqual = i.rep === Rep.RepNE;
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0) {
    const r = scan ? scasOne(c, a32, size, step) : cmpsOne(c, a32, src, size, step);
    n--;
    setCount(c, a32, n);
    if ((r === 0) === stopOnEqual) return;
    if (--budget === 0) { if (n !== 0) yieldRep(c); return; }
  }
}

// ------------------------------------------------------------------ INS / OUTS
/** INS: port DX → [ES:DI]. The destination is checked (and paged in) before the port is read,
 *  since port reads can have side effects. */
function insOne(c: CPU, a32: boolean, size: number, step: number, port: number): void {
  const di = getDI(c, a32);
  const lin = c.lin(SEG.ES, di, size, true);
  const user = c.cpl === 3;
  c.translate(lin, Access.Write, user);
  if ((lin & 0xfff) + size > 0x1000) c.translate((lin + size - 1) | 0, Access.Write, user);
  wrN(c, lin, size, portIn(c, port, size));
  setDI(c, a32, di + step);
}

/** OUTS: [src:SI] → port DX. */
function outsOne(c: CPU, a32: boolean, src: number, size: number, step: number, port: number): void {
  const si = getSI(c, a32);
  const v = rdN(c, c.lin(src, si, size, false), size);
  portOut(c, port, size, v);
  setSI(c, a32, si + step);
}

function ins(c: CPU, i: Insn, size: number): void {
  const port = c.r16[4];
  checkIoPermission(c, port, size); // checked even when the count is 0
  // The VMX I/O exit: once per instruction, after the permission #GP (which has priority, SDM
  // Vol3C 25.1.1), before any iteration.
  if (c.nonRoot !== null) vmx.io(c, i, port, size, true, true, false, (c.segBase[SEG.ES] + getDI(c, i.a32)) | 0, SEG.ES);
  const a32 = i.a32, step = stepOf(c, size);
  if (i.rep === Rep.None) { insOne(c, a32, size, step, port); return; }
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0 && budget !== 0) {
    insOne(c, a32, size, step, port);
    n--; budget--;
    setCount(c, a32, n);
  }
  if (n !== 0) yieldRep(c);
}

function outs(c: CPU, i: Insn, size: number): void {
  const port = c.r16[4];
  checkIoPermission(c, port, size);
  if (c.nonRoot !== null) vmx.io(c, i, port, size, false, true, false, (c.segBase[srcSeg(i)] + getSI(c, i.a32)) | 0, srcSeg(i));
  const a32 = i.a32, src = srcSeg(i), step = stepOf(c, size);
  if (i.rep === Rep.None) { outsOne(c, a32, src, size, step, port); return; }
  let n = getCount(c, a32);
  let budget = REP_CHUNK;
  while (n !== 0 && budget !== 0) {
    outsOne(c, a32, src, size, step, port);
    n--; budget--;
    setCount(c, a32, n);
  }
  if (n !== 0) yieldRep(c);
}

// ------------------------------------------------------------------ handlers
export function op_A4_movsb(c: CPU, i: Insn): void { movs(c, i, 1); }
export function op_A5_movs16(c: CPU, i: Insn): void { movs(c, i, 2); }
export function op_A5_movs32(c: CPU, i: Insn): void { movs(c, i, 4); }
export function op_A6_cmpsb(c: CPU, i: Insn): void { repCompare(c, i, 1, false); }
export function op_A7_cmps16(c: CPU, i: Insn): void { repCompare(c, i, 2, false); }
export function op_A7_cmps32(c: CPU, i: Insn): void { repCompare(c, i, 4, false); }
export function op_AA_stosb(c: CPU, i: Insn): void { stos(c, i, 1); }
export function op_AB_stos16(c: CPU, i: Insn): void { stos(c, i, 2); }
export function op_AB_stos32(c: CPU, i: Insn): void { stos(c, i, 4); }
export function op_AC_lodsb(c: CPU, i: Insn): void { lods(c, i, 1); }
export function op_AD_lods16(c: CPU, i: Insn): void { lods(c, i, 2); }
export function op_AD_lods32(c: CPU, i: Insn): void { lods(c, i, 4); }
export function op_AE_scasb(c: CPU, i: Insn): void { repCompare(c, i, 1, true); }
export function op_AF_scas16(c: CPU, i: Insn): void { repCompare(c, i, 2, true); }
export function op_AF_scas32(c: CPU, i: Insn): void { repCompare(c, i, 4, true); }
export function op_6C_insb(c: CPU, i: Insn): void { ins(c, i, 1); }
export function op_6D_ins16(c: CPU, i: Insn): void { ins(c, i, 2); }
export function op_6D_ins32(c: CPU, i: Insn): void { ins(c, i, 4); }
export function op_6E_outsb(c: CPU, i: Insn): void { outs(c, i, 1); }
export function op_6F_outs16(c: CPU, i: Insn): void { outs(c, i, 2); }
export function op_6F_outs32(c: CPU, i: Insn): void { outs(c, i, 4); }
