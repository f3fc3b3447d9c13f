// x87 state images in memory: the FSTENV/FLDENV environment and the FSAVE/FRSTOR image (SDM Vol1
// 8.1.10, Figures 8-9 to 8-12: 14 or 28 bytes by operand size, protected-mode or real-address-mode
// layout; FSAVE appends ST(0)..ST(7), 10 bytes each), and the 512-byte FXSAVE/FXRSTOR image
// (Vol2 FXSAVE, Table 3-43, legacy layout).
//
// Callers pass a linear address already checked against the segment for the whole image. Stores
// write memory before changing any FPU state; loads read everything into a scratch buffer first,
// so a #PF in the middle leaves the FPU as it was.
//
// Reserved fields: the 32-bit formats store 1s in the reserved upper halves of the control, status
// and tag words, of the real-mode pointer low words and of the protected-mode operand selector;
// zeros elsewhere (the FXSAVE reserved bytes inside 0-159, register padding). MXCSR_MASK is stored
// as 0 (no SSE: software then assumes the default mask 0000FFBFH, Vol1 11.6.6).

import { CR4, MXCSR } from '../arch.js';
import { Mode } from '../state.js';
import type { CPU } from '../cpu.js';
import { R } from './float80.js';
import type { X87 } from './x87.js';

const RSVD = 0xffff0000 | 0;

/** Bytes of the environment for the operand size. */
export function envSize(o32: boolean): number { return o32 ? 28 : 14; }

/** Real-address and virtual-8086 modes use the real-mode layouts, with 20/32-bit linear pointers. */
function realLayout(c: CPU): boolean { return c.mode !== Mode.Protected; }

/** FNSTENV / first part of FNSAVE. */
export function storeEnv(c: CPU, f: X87, la: number, o32: boolean): void {
  const cw = f.cw, sw = f.status, tw = f.tagWord();
  if (realLayout(c)) {
    const ip = ((f.fcs << 4) + f.fip) | 0, dp = ((f.fds << 4) + f.fdp) | 0;
    if (o32) {
      c.wr32(la, RSVD | cw); c.wr32(la + 4, RSVD | sw); c.wr32(la + 8, RSVD | tw);
      c.wr32(la + 12, RSVD | (ip & 0xffff));
      c.wr32(la + 16, ((ip >>> 16) << 12) | (f.fop & 0x7ff));
      c.wr32(la + 20, RSVD | (dp & 0xffff));
      c.wr32(la + 24, (dp >>> 16) << 12);
    } else {
      c.wr16(la, cw); c.wr16(la + 2, sw); c.wr16(la + 4, tw);
      c.wr16(la + 6, ip & 0xffff);
      c.wr16(la + 8, (((ip >>> 16) & 15) << 12) | (f.fop & 0x7ff));
      c.wr16(la + 10, dp & 0xffff);
      c.wr16(la + 12, ((dp >>> 16) & 15) << 12);
    }
    return;
  }
  if (o32) {
    c.wr32(la, RSVD | cw); c.wr32(la + 4, RSVD | sw); c.wr32(la + 8, RSVD | tw);
    c.wr32(la + 12, f.fip);
    c.wr32(la + 16, (f.fcs & 0xffff) | ((f.fop & 0x7ff) << 16));
    c.wr32(la + 20, f.fdp);
    c.wr32(la + 24, RSVD | (f.fds & 0xffff));
  } else {
    c.wr16(la, cw); c.wr16(la + 2, sw); c.wr16(la + 4, tw);
    c.wr16(la + 6, f.fip & 0xffff); c.wr16(la + 8, f.fcs);
    c.wr16(la + 10, f.fdp & 0xffff); c.wr16(la + 12, f.fds);
  }
}

// Parsed environment (filled by readEnv, applied by applyEnv).
let eCw = 0, eSw = 0, eTw = 0, eIp = 0, eCs = 0, eOp = 0, eDp = 0, eDs = 0;

function readEnv(c: CPU, la: number, o32: boolean): void {
  const real = realLayout(c);
  if (o32) {
    eCw = c.rd32(la) & 0xffff; eSw = c.rd32(la + 4) & 0xffff; eTw = c.rd32(la + 8) & 0xffff;
    const d12 = c.rd32(la + 12), d16 = c.rd32(la + 16), d20 = c.rd32(la + 20), d24 = c.rd32(la + 24);
    if (real) {
      eIp = (d12 & 0xffff) | (((d16 >>> 12) & 0xffff) << 16); eCs = 0; eOp = d16 & 0x7ff;
      eDp = (d20 & 0xffff) | (((d24 >>> 12) & 0xffff) << 16); eDs = 0;
    } else {
      eIp = d12; eCs = d16 & 0xffff; eOp = (d16 >>> 16) & 0x7ff; eDp = d20; eDs = d24 & 0xffff;
    }
  } else {
    eCw = c.rd16(la); eSw = c.rd16(la + 2); eTw = c.rd16(la + 4);
    const w6 = c.rd16(la + 6), w8 = c.rd16(la + 8), w10 = c.rd16(la + 10), w12 = c.rd16(la + 12);
    if (real) {
      eIp = w6 | ((w8 >>> 12) << 16); eCs = 0; eOp = w8 & 0x7ff;
      eDp = w10 | ((w12 >>> 12) << 16); eDs = 0;
    } else {
      eIp = w6; eCs = w8; eOp = 0; eDp = w10; eDs = w12;
    }
  }
}

function applyEnv(f: X87): void {
  f.setControl(eCw);
  f.setTagWord(eTw);
  f.setStatus(eSw); // after the control word: ES follows the new masks
  f.fip = eIp; f.fcs = eCs; f.fop = eOp; f.fdp = eDp; f.fds = eDs;
}

/** FLDENV. */
export function loadEnv(c: CPU, f: X87, la: number, o32: boolean): void {
  readEnv(c, la, o32);
  applyEnv(f);
}

/** FNSAVE: environment, ST(0)..ST(7), then FNINIT. */
export function fsave(c: CPU, f: X87, la: number, o32: boolean): void {
  storeEnv(c, f, la, o32);
  let a = la + envSize(o32);
  for (let i = 0; i < 8; i++, a += 10) {
    f.get80(f.phys(i));
    c.wr32(a, R.lo); c.wr32(a + 4, R.hi); c.wr16(a + 8, R.se);
  }
  f.init();
}

const REGS = new Int32Array(24);

/** FRSTOR. */
export function frstor(c: CPU, f: X87, la: number, o32: boolean): void {
  readEnv(c, la, o32);
  let a = la + envSize(o32);
  for (let i = 0; i < 8; i++, a += 10) {
    REGS[3 * i] = c.rd32(a); REGS[3 * i + 1] = c.rd32(a + 4); REGS[3 * i + 2] = c.rd16(a + 8);
  }
  applyEnv(f);
  for (let i = 0; i < 8; i++) f.setX(f.phys(i), REGS[3 * i], REGS[3 * i + 1], REGS[3 * i + 2]);
}

/** FXSAVE (legacy layout). With 16-bit operand size the pointers' upper halves are reserved (0). */
export function fxsave(c: CPU, f: X87, la: number, o32: boolean): void {
  c.wr16(la, f.cw); c.wr16(la + 2, f.status);
  c.wr16(la + 4, ~f.empty & 0xff); // abridged tag: 1 = valid (any non-empty tag), by physical register
  c.wr16(la + 6, f.fop & 0x7ff);
  c.wr32(la + 8, o32 ? f.fip : f.fip & 0xffff);
  c.wr32(la + 12, f.fcs & 0xffff);
  c.wr32(la + 16, o32 ? f.fdp : f.fdp & 0xffff);
  c.wr32(la + 20, f.fds & 0xffff);
  c.wr32(la + 24, f.mxcsr);
  c.wr32(la + 28, 0); // MXCSR_MASK
  let a = la + 32;
  for (let i = 0; i < 8; i++, a += 16) {
    f.get80(f.phys(i));
    c.wr32(a, R.lo); c.wr32(a + 4, R.hi); c.wr16(a + 8, R.se);
    c.wr16(a + 10, 0); c.wr32(a + 12, 0);
  }
  // XMM0-7 (bytes 160-287) are part of the image only with CR4.OSFXSR; this CPU has none: zeros.
  if ((c.cr4 & CR4.OSFXSR) !== 0) for (let k = 160; k < 288; k += 4) c.wr32(la + k, 0);
}

/** FXRSTOR. #GP(0) for reserved MXCSR bits (checked before anything changes). */
export function fxrstor(c: CPU, f: X87, la: number, o32: boolean): void {
  const cw = c.rd16(la), sw = c.rd16(la + 2), ftw = c.rd16(la + 4) & 0xff, fop = c.rd16(la + 6) & 0x7ff;
  const fip = c.rd32(la + 8), fcs = c.rd16(la + 12), fdp = c.rd32(la + 16), fds = c.rd16(la + 20);
  const mx = c.rd32(la + 24);
  let a = la + 32;
  for (let i = 0; i < 8; i++, a += 16) {
    REGS[3 * i] = c.rd32(a); REGS[3 * i + 1] = c.rd32(a + 4); REGS[3 * i + 2] = c.rd16(a + 8);
  }
  if ((mx & ~MXCSR.DEFAULT_MASK) !== 0) c.gp(0);
  f.setControl(cw);
  f.empty = ~ftw & 0xff;
  f.setStatus(sw);
  f.fop = fop; f.fip = o32 ? fip : fip & 0xffff; f.fcs = fcs; f.fdp = o32 ? fdp : fdp & 0xffff; f.fds = fds;
  f.mxcsr = mx;
  for (let i = 0; i < 8; i++) f.setX(f.phys(i), REGS[3 * i], REGS[3 * i + 1], REGS[3 * i + 2]);
}
