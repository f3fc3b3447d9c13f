// The x87 FPU (SDM Vol1 ch. 8): register stack, control/status/tag words, instruction and data
// pointers, exception flags, and the arithmetic core the instruction handlers (ops/x87.ts) use.
//
// Representation and precision. Each physical register p holds a JS double d[p] and a kind xk[p]:
//   K_SHADOW  the double is not the exact value: the exact 80-bit encoding is kept in
//             (xlo, xhi, xse)[p]. Used for 64-bit significands, exponents beyond the double range,
//             80-bit denormals, NaN payloads and unsupported encodings (then d = NaN).
//   K_DENORM  the operand is a denormal in its format (#D when arithmetic uses it).
// So every move is exact for every 80-bit value: FLD/FSTP m80, FLD ST(i), FXCH, FILD/FISTP m64,
// FBLD/FBSTP, FSAVE/FRSTOR, FXSAVE/FXRSTOR; FIST/FRNDINT/FCOM round or compare the exact value.
// Arithmetic (FADD ... FSQRT, FPREM, FSCALE, transcendentals) works on doubles: operands and
// results have a 53-bit significand and the exponent range of double (results beyond it overflow
// to ∞ or underflow, with OE/UE), so results can differ from a real x87 in the last 11 bits.
// FADD/FSUB/FMUL/FDIV/FSQRT are correctly rounded to that format in all four rounding modes, with
// PC = single honoured (24-bit significand), and set PE and C1 (rounded up) exactly for it.
// Slot 8 holds a memory operand converted for arithmetic or comparison.
//
// Transcendental results come from the JS engine's Math (PE set, C1 = 0); FSIN/FCOS/FPTAN/FSINCOS
// reduce exactly instead of with the x87's 66-bit pi, so very large arguments differ slightly.
//
// Exceptions (Vol1 8.4-8.7): flags accumulate in the status word; unmasked ones set ES and B and
// are reported by the next waiting x87 instruction (ops/x87.ts: #MF with CR0.NE = 1, else FERR#).
// Unmasked #I, #D, #Z leave the destination and TOP unchanged; unmasked #O, #U, #I on a store to
// memory store nothing. Unmasked #O/#U with a register destination store the masked response
// (the real x87 stores the result with its exponent wrapped by 24576, which a double cannot hold).

import { FCW, FPC, FRC, FSW, FTAG, MXCSR } from '../arch.js';
import {
  DBL_MIN_NORMAL, INDEF_HI, INDEF_LO, INDEF_SE, R, X80, bitsToF64, exponentOf, f32Bits, f64Bits, f64ToX80, ldexp, magToX80,
  next24, nextDouble, round24, x80Class, x80Compare, x80ToIeee, x80ToIntMag,
} from './float80.js';

export const K_SHADOW = 1;
export const K_DENORM = 2;
/** Slot of the converted memory operand. */
export const ST_M = 8;
/** Arithmetic operations, numbered as ModRM.reg of D8/DC/DE. */
export const OP_ADD = 0, OP_MUL = 1, OP_SUB = 4, OP_SUBR = 5, OP_DIV = 6, OP_DIVR = 7;
/** NaN kinds (nanKind). */
export const NAN_NONE = 0, NAN_Q = 1, NAN_S = 2, NAN_UNSUPPORTED = 3;

const IE = FSW.IE, DE = FSW.DE, ZE = FSW.ZE, OE = FSW.OE, UE = FSW.UE, PE = FSW.PE, SF = FSW.SF;
const C0 = FSW.C0, C1 = FSW.C1, C2 = FSW.C2, C3 = FSW.C3, CC = C0 | C1 | C2 | C3;
const DBL_MAX = 1.7976931348623157e308;
/** Largest value with a 24-bit significand in the double exponent range: (2 − 2^-23) · 2^1023. */
const MAX24 = 1.7976930277114552e308;
const FLT_MIN_NORMAL = 1.1754943508222875e-38, FLT_MAX = 3.4028234663852886e38;

/** Error of a correctly rounded sum r = fl(x + y): exact x + y = r + err (Knuth's TwoSum). */
function sumErr(x: number, y: number, r: number): number {
  if (r - r !== 0) return 0;
  const bb = r - x;
  return (x - (r - bb)) + (y - bb);
}

const SPLIT = 134217729; // 2^27 + 1 (Dekker)
/** Exact error x·y − p of p = fl(x·y) (Dekker's TwoProduct), for operands whose split and partial
 * products neither overflow nor underflow. */
function mulErrRaw(x: number, y: number, p: number): number {
  let c = SPLIT * x;
  const xh = c - (c - x), xl = x - xh;
  c = SPLIT * y;
  const yh = c - (c - y), yl = y - yh;
  return ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
}
/** Magnitudes for which mulErrRaw / the remainder computations are exact without scaling. */
const SAFE_LO = 3.8725919148493183e-121, SAFE_HI = 2.5822498780869086e120; // 2^-400, 2^400
function safe(a: number): boolean { return (a < 0 ? -a : a) > SAFE_LO && (a < 0 ? -a : a) < SAFE_HI; }

/** A value with the sign of (x · y − p), zero iff p = fl(x · y) is exact. */
function mulErr(x: number, y: number, p: number): number {
  if (p - p !== 0 || x === 0 || y === 0) return 0;
  if (p === 0) return (x < 0) !== (y < 0) ? -5e-324 : 5e-324; // underflowed to zero
  if (safe(x) && safe(y)) return mulErrRaw(x, y, p);
  // Scale both operands to [1, 2) (exact): pe = fl(xs·ys) has error e; p scaled the same way may have
  // fewer bits (subnormal): d = pe − ps is exact (Sterbenz) and, when nonzero, dominates e.
  const ex = exponentOf(x), ey = exponentOf(y);
  const xs = ldexp(x, -ex), ys = ldexp(y, -ey);
  const pe = xs * ys;
  const d = pe - ldexp(p, -(ex + ey));
  return d !== 0 ? d : mulErrRaw(xs, ys, pe);
}
/** A value with the sign of (x / y − q), zero iff q = fl(x / y) is exact. */
function divErr(x: number, y: number, q: number): number {
  if (q - q !== 0 || x === 0) return 0;
  if (q === 0) return (x < 0) !== (y < 0) ? -5e-324 : 5e-324;
  let xs = x, ys = y, qs = q;
  if (!safe(x) || !safe(y) || !safe(q)) {
    // Scale to x, y in [1, 2) and q by the same factor (all exact): the sign of x − q·y is kept.
    const ex = exponentOf(x), ey = exponentOf(y);
    xs = ldexp(x, -ex); ys = ldexp(y, -ey); qs = ldexp(q, ey - ex);
  }
  const p = qs * ys;
  const rem = (xs - p) - mulErrRaw(qs, ys, p); // x − q·y: x − p is exact (Sterbenz), the error term too
  if (rem === 0) return 0;
  return (rem > 0) === (ys > 0) ? 5e-324 : -5e-324;
}
/** A value with the sign of (sqrt(x) − r), zero iff r = fl(sqrt(x)) is exact (x > 0 finite). */
function sqrtErr(x: number, r: number): number {
  let xs = x, rs = r;
  if (!safe(x)) { const k = Math.floor(exponentOf(x) / 2); xs = ldexp(x, -2 * k); rs = ldexp(r, -k); }
  const sq = rs * rs;
  const rem = (xs - sq) - mulErrRaw(rs, rs, sq);
  return rem > 0 ? 5e-324 : rem < 0 ? -5e-324 : 0;
}

export class X87 {
  /** Values of the physical registers R0-R7 and of the memory-operand slot 8. */
  readonly d = new Float64Array(9);
  readonly xk = new Uint8Array(9);
  readonly xlo = new Int32Array(9);
  readonly xhi = new Int32Array(9);
  readonly xse = new Int32Array(9);
  /** TOP: physical register of ST(0). */
  top = 0;
  /** Bit p set: physical register p is empty (tag 11). The other tags are computed from the values. */
  empty = 0;
  cw: number = FCW.RESET;
  /** Status word without TOP (kept in `top`). */
  sw = 0;
  /** Last non-control instruction: EIP offset, CS selector, opcode (11 bits); its memory operand's offset and selector (Vol1 8.1.8-8.1.9). */
  fip = 0; fcs = 0; fop = 0; fdp = 0; fds = 0;
  /** MXCSR (FXSAVE/FXRSTOR only: SSE is not advertised). */
  mxcsr: number = MXCSR.DEFAULT;
  /** FERR# output (Vol1 D.2, Vol3A 22.18.6.7): asserted at the end of an instruction that left an
   * unmasked exception pending while CR0.NE = 0, deasserted when ES clears. */
  ferr = false;
  /** IGNNE# input: while set (and CR0.NE = 0), waiting instructions ignore pending exceptions.
   * The machine sets it on a write to port F0h; it is cleared when FERR# is deasserted (Figure D-1). */
  ignne = false;
  /** Called when FERR# changes: the machine raises/lowers IRQ 13 (the PC/AT wiring). */
  onFerr: ((asserted: boolean) => void) | null = null;

  /** Power-up state (SDM Vol3A Table 9-1): CW 0040H, SW 0, TW 5555H (every register +0.0), pointers 0. */
  reset(): void {
    this.d.fill(0); this.xk.fill(0); this.xlo.fill(0); this.xhi.fill(0); this.xse.fill(0);
    this.top = 0; this.empty = 0; this.cw = FCW.RESET; this.sw = 0;
    this.fip = 0; this.fcs = 0; this.fop = 0; this.fdp = 0; this.fds = 0;
    this.mxcsr = MXCSR.DEFAULT;
    if (this.ferr) this.setFerr(false);
    this.ignne = false;
  }

  /** FNINIT (SDM Vol2 FINIT): CW 037FH, SW 0, all tags empty, pointers and opcode 0; registers unchanged. */
  init(): void {
    this.cw = FCW.INIT; this.sw = 0; this.top = 0; this.empty = 0xff;
    this.fip = 0; this.fcs = 0; this.fop = 0; this.fdp = 0; this.fds = 0;
    if (this.ferr) this.setFerr(false);
  }

  // ------------------------------------------------------------------ words
  get status(): number { return (this.sw & ~FSW.TOP_MASK) | (this.top << FSW.TOP_SHIFT); }
  /** Load a status word (FLDENV, FRSTOR, FXRSTOR); ES and B are recomputed from flags and masks. */
  setStatus(v: number): void {
    this.top = (v >>> FSW.TOP_SHIFT) & 7;
    this.sw = v & 0xffff & ~FSW.TOP_MASK;
    this.updateES();
  }
  setControl(v: number): void { this.cw = (v & FCW.WRITABLE) | FCW.FIXED1; }
  get rc(): number { return (this.cw >>> FCW.RC_SHIFT) & 3; }

  /** Tag of physical register p (Vol1 8.1.7): computed from the value unless empty. */
  tagOf(p: number): number {
    if ((this.empty & (1 << p)) !== 0) return FTAG.EMPTY;
    const v = this.d[p], k = this.xk[p];
    if ((k & K_SHADOW) !== 0) return v !== v || (k & K_DENORM) !== 0 ? FTAG.SPECIAL : FTAG.VALID;
    if (v === 0) return FTAG.ZERO;
    return v - v !== 0 ? FTAG.SPECIAL : FTAG.VALID;
  }
  tagWord(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) t |= this.tagOf(p) << (2 * p);
    return t;
  }
  /** Load a tag word: only "empty" (11) is kept, the other tags follow the values. */
  setTagWord(t: number): void {
    let e = 0;
    for (let p = 0; p < 8; p++) if (((t >>> (2 * p)) & 3) === FTAG.EMPTY) e |= 1 << p;
    this.empty = e;
  }

  // ------------------------------------------------------------------ exceptions
  /** Record exception flags; unmasked ones set ES and B (Vol1 8.1.3.1, 8.5). */
  signal(bits: number): void {
    this.sw |= bits;
    if ((bits & ~this.cw & FSW.EXC_MASK) !== 0) this.sw |= FSW.ES | FSW.B;
  }
  /** ES (and B) = some exception flag is set and unmasked; FERR# follows ES going clear. */
  updateES(): void {
    if ((this.sw & ~this.cw & FSW.EXC_MASK) !== 0) this.sw |= FSW.ES | FSW.B;
    else {
      this.sw &= ~(FSW.ES | FSW.B);
      if (this.ferr) this.setFerr(false);
    }
  }
  setFerr(on: boolean): void {
    this.ferr = on;
    if (!on) this.ignne = false;
    if (this.onFerr !== null) this.onFerr(on);
  }
  masked(bit: number): boolean { return (this.cw & bit) !== 0; }

  /** Stack underflow (#IS, Vol1 8.5.1.1): IE, SF, C1 = 0. Masked: `dst` (if ≥ 0) gets the indefinite; returns true. */
  underflow(dst: number): boolean {
    this.sw &= ~C1;
    this.signal(IE | SF);
    if ((this.cw & FCW.IM) === 0) return false;
    if (dst >= 0) { this.setIndef(dst); this.empty &= ~(1 << dst); }
    return true;
  }

  // ------------------------------------------------------------------ stack
  phys(i: number): number { return (this.top + i) & 7; }
  isEmpty(p: number): boolean { return (this.empty & (1 << p)) !== 0; }
  /**
   * Slot for a push: the physical register that becomes ST(0), or -1 if ST(7) is in use (stack
   * overflow, handled here: IE, SF, C1 = 1; masked, the indefinite is pushed).
   */
  pushSlot(): number {
    const p = (this.top - 1) & 7;
    if ((this.empty & (1 << p)) === 0) {
      this.sw |= C1;
      this.signal(IE | SF);
      if ((this.cw & FCW.IM) !== 0) { this.top = p; this.setIndef(p); }
      return -1;
    }
    this.sw &= ~C1;
    return p;
  }
  /** Make slot p (from pushSlot) ST(0). */
  commitPush(p: number): void { this.top = p; this.empty &= ~(1 << p); }
  pop(): void { this.empty |= 1 << this.top; this.top = (this.top + 1) & 7; }

  // ------------------------------------------------------------------ values
  setD(p: number, v: number): void { this.d[p] = v; this.xk[p] = 0; }
  setNaN(p: number, lo: number, hi: number, se: number): void {
    this.d[p] = NaN; this.xk[p] = K_SHADOW; this.xlo[p] = lo; this.xhi[p] = hi; this.xse[p] = se;
  }
  setIndef(p: number): void { this.setNaN(p, INDEF_LO, INDEF_HI, INDEF_SE); }
  copy(dst: number, src: number): void {
    this.d[dst] = this.d[src]; this.xk[dst] = this.xk[src];
    this.xlo[dst] = this.xlo[src]; this.xhi[dst] = this.xhi[src]; this.xse[dst] = this.xse[src];
  }
  /** Set slot p from an 80-bit encoding (exact). */
  setX(p: number, lo: number, hi: number, se: number): void {
    this.xlo[p] = lo; this.xhi[p] = hi; this.xse[p] = se;
    const neg = (se & 0x8000) !== 0;
    switch (x80Class(lo, hi, se)) {
      case X80.Zero: this.d[p] = neg ? -0 : 0; this.xk[p] = 0; return;
      case X80.Inf: this.d[p] = neg ? -Infinity : Infinity; this.xk[p] = 0; return;
      case X80.Denormal: this.d[p] = neg ? -0 : 0; this.xk[p] = K_SHADOW | K_DENORM; return;
      case X80.Normal:
        x80ToIeee(lo, hi, se, true, FRC.NEAREST);
        this.d[p] = bitsToF64(R.lo, R.hi);
        this.xk[p] = (R.flags & (PE | OE)) !== 0 ? K_SHADOW : 0;
        return;
      default: this.d[p] = NaN; this.xk[p] = K_SHADOW; // NaN or unsupported
    }
  }
  /** The exact 80-bit encoding of slot p into R.lo / R.hi / R.se. */
  get80(p: number): void {
    if ((this.xk[p] & K_SHADOW) !== 0) { R.lo = this.xlo[p]; R.hi = this.xhi[p]; R.se = this.xse[p]; }
    else f64ToX80(this.d[p]);
  }
  /** Sign bit of slot p. */
  signOf(p: number): boolean {
    if ((this.xk[p] & K_SHADOW) !== 0) return (this.xse[p] & 0x8000) !== 0;
    const v = this.d[p];
    return v < 0 || (v === 0 && 1 / v < 0);
  }
  /** NAN_NONE, NAN_Q, NAN_S or NAN_UNSUPPORTED. */
  nanKind(p: number): number {
    const v = this.d[p];
    if (v === v) return NAN_NONE;
    const c = x80Class(this.xlo[p], this.xhi[p], this.xse[p]);
    return c === X80.QNaN ? NAN_Q : c === X80.SNaN ? NAN_S : NAN_UNSUPPORTED;
  }

  // ------------------------------------------------------------------ results
  /** Invalid operation (#IA): masked → the indefinite in dst; returns false if unmasked (no result). */
  invalid(dst: number, fl: number): boolean {
    this.signal(fl | IE);
    if ((this.cw & FCW.IM) === 0) return false;
    this.setIndef(dst);
    return true;
  }
  /**
   * Result of an operation with a NaN operand (Vol1 4.8.3.5, Table 4-7, x87 column): an SNaN or an
   * unsupported operand is invalid; the result is the QNaN with the larger significand, quieted.
   */
  nanResult(dst: number, a: number, b: number): boolean {
    const ka = this.nanKind(a), kb = this.nanKind(b);
    if (ka === NAN_UNSUPPORTED || kb === NAN_UNSUPPORTED) return this.invalid(dst, 0);
    let src = ka !== NAN_NONE ? a : b;
    if (ka !== NAN_NONE && kb !== NAN_NONE) {
      const ah = this.xhi[a] & 0x3fffffff, bh = this.xhi[b] & 0x3fffffff;
      if (bh > ah || (bh === ah && (this.xlo[b] >>> 0) > (this.xlo[a] >>> 0))) src = b;
    }
    if (ka === NAN_S || kb === NAN_S) {
      this.signal(IE);
      if ((this.cw & FCW.IM) === 0) return false;
    }
    this.setNaN(dst, this.xlo[src], this.xhi[src] | 0x40000000, this.xse[src]);
    return true;
  }
  /** Store an inexact (transcendental-style) result: PE unless `exact`, C1 = 0. */
  store(dst: number, r: number, fl: number, exact: boolean): boolean {
    if (!exact) fl |= PE;
    if (r !== 0 && r - r === 0 && (r < 0 ? -r : r) < DBL_MIN_NORMAL && !exact) fl |= UE;
    this.sw &= ~C1;
    this.signal(fl);
    this.setD(dst, r);
    return true;
  }

  /**
   * Round the correctly-rounded-to-nearest double r (exact value = r + err, err only by its sign)
   * by RC and PC, detect overflow/underflow/precision, set C1, store into dst (Vol1 4.8.4, 4.9.1).
   */
  private round(dst: number, r: number, err: number, fl: number, finiteOps: boolean): boolean {
    const rc = (this.cw >>> FCW.RC_SHIFT) & 3;
    const single = ((this.cw >>> FCW.PC_SHIFT) & 3) === FPC.SINGLE;
    let up = false;
    let f = r;
    let dir = err > 0 ? 1 : err < 0 ? -1 : 0; // sign of (exact − f)
    if (r - r === 0) {
      if (single) { f = round24(r); const diff = r - f; if (diff !== 0) dir = diff > 0 ? 1 : -1; }
      if (dir !== 0 && f - f === 0) {
        let move = false;
        if (rc === FRC.UP) move = dir > 0;
        else if (rc === FRC.DOWN) move = dir < 0;
        else if (rc === FRC.CHOP) move = f > 0 ? dir < 0 : f < 0 && dir > 0;
        if (move) { f = single ? next24(f, dir > 0) : nextDouble(f, dir > 0); dir = -dir; }
        fl |= PE;
        up = f > 0 ? dir < 0 : f < 0 && dir > 0;
      }
    }
    if (f - f !== 0 && finiteOps) {
      // Overflow (Vol1 4.9.1.4): ∞ or the largest finite value of the precision, by RC and sign.
      const neg = f < 0;
      const toInf = rc === FRC.NEAREST || (rc === FRC.UP && !neg) || (rc === FRC.DOWN && neg);
      if (!toInf) f = neg ? -(single ? MAX24 : DBL_MAX) : single ? MAX24 : DBL_MAX;
      up = toInf;
      fl |= OE | PE;
    } else if (f - f === 0) {
      const a = f < 0 ? -f : f;
      if ((a < DBL_MIN_NORMAL && a !== 0) || (a === 0 && dir !== 0)) {
        if ((fl & PE) !== 0 || (this.cw & FCW.UM) === 0) fl |= UE;
      }
    }
    if (up) this.sw |= C1; else this.sw &= ~C1;
    this.signal(fl);
    this.setD(dst, f);
    return true;
  }

  // ------------------------------------------------------------------ arithmetic
  /** DE for denormal operands; returns -1 if #D is unmasked (no result), else the flags so far. */
  private denormCheck(a: number, b: number): number {
    if (((this.xk[a] | this.xk[b]) & K_DENORM) === 0) return 0;
    this.signal(DE);
    return (this.cw & FCW.DM) === 0 ? -1 : DE;
  }

  /**
   * dst ← a op b (op = ModRM.reg of D8/DC/DE: add, mul, sub, subr, div, divr) for non-empty slots.
   * Returns false if an unmasked exception suppressed the result (the caller then must not pop).
   */
  arith(op: number, dst: number, a: number, b: number): boolean {
    if (op === OP_SUBR || op === OP_DIVR) { const t = a; a = b; b = t; op--; }
    const x = this.d[a], y = this.d[b];
    this.sw &= ~C1;
    if (x !== x || y !== y) return this.nanResult(dst, a, b);
    const fl = this.denormCheck(a, b);
    if (fl < 0) return false;
    let r: number, err: number;
    if (op === OP_ADD || op === OP_SUB) {
      const yy = op === OP_ADD ? y : -y;
      r = x + yy;
      if (r === 0) {
        err = 0; // a sum that is zero is exact; its sign: −0 only when rounding down (IEEE 754 6.3)
        if (((this.cw >>> FCW.RC_SHIFT) & 3) === FRC.DOWN) r = 1 / x > 0 && 1 / yy > 0 ? 0 : -0;
      } else err = sumErr(x, yy, r);
    } else if (op === OP_MUL) {
      r = x * y; err = mulErr(x, y, r);
    } else {
      if (y === 0 && x !== 0 && x - x === 0) { // finite nonzero / 0: #Z
        this.signal(fl | ZE);
        if ((this.cw & FCW.ZM) === 0) return false;
        this.setD(dst, (x < 0) !== (1 / y < 0) ? -Infinity : Infinity);
        return true;
      }
      r = x / y; err = divErr(x, y, r);
    }
    if (r !== r) return this.invalid(dst, fl); // ∞ − ∞, 0 · ∞, 0/0, ∞/∞
    return this.round(dst, r, err, fl, x - x === 0 && y - y === 0);
  }

  /** FSQRT on slot p (non-empty). */
  sqrt(p: number): boolean {
    const x = this.d[p];
    this.sw &= ~C1;
    if (x !== x) return this.nanResult(p, p, p);
    const fl = this.denormCheck(p, p);
    if (fl < 0) return false;
    if (x < 0) return this.invalid(p, fl);
    const r = Math.sqrt(x);
    const err = r !== 0 && r - r === 0 ? sqrtErr(x, r) : 0;
    return this.round(p, r, err, fl, true);
  }

  /**
   * Compare slots a and b (Vol2 FCOM/FUCOM): 0 (a > b), 1 (a < b), 2 (equal), 3 (unordered), or -1
   * when an unmasked exception suppresses the result. `quiet` (FUCOM*): only SNaNs are invalid.
   */
  compare(a: number, b: number, quiet: boolean): number {
    const x = this.d[a], y = this.d[b];
    if (x !== x || y !== y) {
      const ka = this.nanKind(a), kb = this.nanKind(b);
      if (!quiet || ka >= NAN_S || kb >= NAN_S) {
        this.signal(IE);
        if ((this.cw & FCW.IM) === 0) return -1;
      }
      return 3;
    }
    if (this.denormCheck(a, b) < 0) return -1;
    if (x > y) return 0;
    if (x < y) return 1;
    if (((this.xk[a] | this.xk[b]) & K_SHADOW) !== 0) {
      // Equal as doubles: decide on the exact 80-bit values.
      this.get80(a);
      const lo = R.lo, hi = R.hi, se = R.se;
      this.get80(b);
      const c = x80Compare(lo, hi, se, R.lo, R.hi, R.se);
      return c > 0 ? 0 : c < 0 ? 1 : 2;
    }
    return 2;
  }
  /** Set C3, C2, C0 from a compare result (C1 = 0); nothing for -1. */
  setCompareCC(r: number): void {
    if (r < 0) return;
    const bits = r === 0 ? 0 : r === 1 ? C0 : r === 2 ? C3 : C3 | C2 | C0;
    this.sw = (this.sw & ~CC) | bits;
  }

  /** FXAM (Vol2): class of ST(0) in C3, C2, C0 and its sign in C1. */
  fxam(): void {
    const p = this.top;
    let bits = this.signOf(p) ? C1 : 0;
    if (this.isEmpty(p)) bits |= C3 | C0;
    else if ((this.xk[p] & K_SHADOW) !== 0) {
      const c = x80Class(this.xlo[p], this.xhi[p], this.xse[p]);
      if (c === X80.QNaN || c === X80.SNaN) bits |= C0;
      else if (c === X80.Denormal) bits |= C3 | C2;
      else if (c === X80.Normal) bits |= C2;
      // unsupported: 000
    } else {
      const v = this.d[p];
      if (v === 0) bits |= C3;
      else if (v - v !== 0) bits |= C2 | C0;
      else bits |= C2;
    }
    this.sw = (this.sw & ~CC) | bits;
  }

  /**
   * Round slot p to an integer of `bits` (16, 32, 64) by RC (FIST/FISTP/FBSTP use 64 and check the
   * range themselves). Two's complement result in R.hi:R.lo; R.flags: IE (out of range, NaN, ∞:
   * the integer indefinite) or PE; R.up as C1. R.big/magnitude also left for FBSTP: see toIntMag.
   */
  toInt(p: number, bits: number): void {
    R.flags = 0; R.up = false;
    const v = this.d[p];
    if ((this.xk[p] & K_SHADOW) === 0) {
      if (v - v !== 0) { intIndef(bits); return; }
      const r = roundIntD(v, this.rc);
      if (r !== v) { R.flags = PE; R.up = (r < 0 ? -r : r) > (v < 0 ? -v : v); }
      if (bits === 16 ? r < -32768 || r > 32767 : bits === 32 ? r < -2147483648 || r > 2147483647
        : r < -9223372036854775808 || r >= 9223372036854775808) { intIndef(bits); return; }
      const hi = Math.floor(r / 4294967296);
      R.hi = hi | 0; R.lo = (r - hi * 4294967296) | 0;
      return;
    }
    if (v !== v) { intIndef(bits); return; }
    const se = this.xse[p];
    x80ToIntMag(this.xlo[p], this.xhi[p], se, this.rc);
    const neg = (se & 0x8000) !== 0;
    const mh = R.hi >>> 0, ml = R.lo >>> 0;
    const limHi = bits === 64 ? 0x80000000 : 0, limLo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
    // magnitude must be < lim, or == lim for a negative value
    if (R.big || mh > limHi || (mh === limHi && (ml > limLo || (ml === limLo && !neg)))) { intIndef(bits); return; }
    if (neg) { R.lo = (-ml) | 0; R.hi = (~mh + (ml === 0 ? 1 : 0)) | 0; }
    else { R.lo = ml | 0; R.hi = mh | 0; }
  }

  /**
   * Round slot p to IEEE double (`dbl`) or single by RC for FST/FSTP m64fp/m32fp: bits in R.lo (and
   * R.hi), flags in R.flags (IE, OE, UE, PE), R.up as C1, R.tiny when below the smallest normal.
   */
  toIeee(p: number, dbl: boolean): void {
    const rc = this.rc;
    if ((this.xk[p] & K_SHADOW) === 0) {
      const v = this.d[p], a = v < 0 ? -v : v;
      if (dbl) { f64Bits(v); R.flags = 0; R.up = false; R.tiny = a !== 0 && a < DBL_MIN_NORMAL; return; }
      if (rc === FRC.NEAREST) {
        const s = Math.fround(v), as = s < 0 ? -s : s;
        if ((as >= FLT_MIN_NORMAL && as <= FLT_MAX) || a === 0 || a === Infinity) {
          R.lo = f32Bits(s); R.flags = s !== v ? PE : 0; R.up = as > a; R.tiny = false;
          return;
        }
      }
      f64ToX80(v);
    } else { R.lo = this.xlo[p]; R.hi = this.xhi[p]; R.se = this.xse[p]; }
    x80ToIeee(R.lo, R.hi, R.se, dbl, rc);
  }

  /** FRNDINT on slot p (non-empty, not NaN): round to an integral value by RC (PC is ignored). */
  roundToIntegral(p: number): void {
    const v = this.d[p];
    this.sw &= ~C1;
    if ((this.xk[p] & K_SHADOW) === 0) {
      if (v - v !== 0) return; // ±∞ unchanged
      const r = roundIntD(v, this.rc);
      if (r !== v) { if ((r < 0 ? -r : r) > (v < 0 ? -v : v)) this.sw |= C1; this.signal(PE); }
      this.setD(p, r);
      return;
    }
    const se = this.xse[p];
    if ((se & 0x7fff) - 16383 >= 63) return; // already integral
    x80ToIntMag(this.xlo[p], this.xhi[p], se, this.rc);
    const fl = R.flags, up = R.up;
    magToX80(R.hi, R.lo, (se & 0x8000) !== 0);
    this.setX(p, R.lo, R.hi, R.se);
    if (up) this.sw |= C1;
    this.signal(fl);
  }
}

/** Integer indefinite (Vol1 Table 4-3 note): the most negative integer; IE. */
function intIndef(bits: number): void {
  R.flags = IE; R.up = false;
  if (bits === 64) { R.hi = 0x80000000 | 0; R.lo = 0; }
  else { R.hi = -1; R.lo = bits === 32 ? 0x80000000 | 0 : 0x8000; }
}

/** Round a finite double to an integral double by RC (round-half-even for nearest); keeps the sign of zero. */
export function roundIntD(v: number, rc: number): number {
  let r: number;
  if (rc === FRC.NEAREST) {
    r = Math.floor(v);
    const f = v - r; // exact for doubles
    if (f > 0.5 || (f === 0.5 && r % 2 !== 0)) r += 1;
  } else if (rc === FRC.DOWN) r = Math.floor(v);
  else if (rc === FRC.UP) r = Math.ceil(v);
  else r = Math.trunc(v);
  if (r === 0) return v < 0 || 1 / v < 0 ? -0 : 0;
  return r;
}

