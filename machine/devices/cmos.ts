// Motorola MC146818 real-time clock and the PC/AT CMOS RAM behind ports 0x70 (index, bit 7 =
// NMI disable) and 0x71 (data). IRQ8 on a PC.
//
// Facts from the MC146818A datasheet: registers 0-9 = seconds, seconds alarm, minutes, minutes
// alarm, hours, hours alarm, day of week (1 = Sunday), day of month, month, year; alarm bytes
// 0xC0-0xFF are "don't care". Register A: UIP (bit 7, read-only), DV2-0 (010 = 32.768 kHz time
// base, 11x = divider reset), RS3-0 periodic rate (32768 Hz >> (RS-1), RS 1/2 = 256/128 Hz, 0 = off).
// Register B: SET (inhibit updates; setting it also clears UIE), PIE, AIE, UIE, SQWE, DM (1 =
// binary, 0 = BCD), 24/12, DSE. Register C: IRQF, PF, AF, UF, all cleared by reading it; the flags
// are set whatever the enable bits, IRQF (and the IRQ line) = PF·PIE + AF·AIE + UF·UIE.
// Register D: VRT (bit 7) = 1. UIP is 1 from 244 µs before an update cycle until it completes
// (1984 µs); the time bytes change when the update completes, and UF (and AF on a match) is set then.
// When the divider leaves reset the first update comes 500 ms later.
// PC/AT CMOS layout: 0x14 equipment, 0x15/0x16 base memory (KiB), 0x17/0x18 and 0x30/0x31 extended
// memory above 1 MiB (KiB, at most 0xFFFF), 0x2E/0x2F checksum of 0x10-0x2D, 0x32 century,
// 0x34/0x35 memory above 16 MiB in 64 KiB units (at most 0xFFFF).
//
// Model: the time is a count of seconds that advances with the virtual clock from `start` (default
// 2026-01-01T00:00:00Z) at whole-second update boundaries, so runs are deterministic. Flags are
// computed lazily from virtual time when register C is read; a clock timer is armed only while an
// enabled interrupt could raise IRQF. Documented simplifications: the time bytes are derived from
// that count, so switching DM or 24/12 re-encodes the current time (the chip would leave the bytes
// as stored), out-of-range dates written by the guest are normalised, DSE is ignored, and any DV
// value other than a divider reset behaves as the PC's 32.768 kHz time base. The century byte
// 0x32 follows the calendar (in the DM encoding, as Linux reads it).

import type { IoBus, IrqLine, Snapshottable } from '../bus.js';
import type { Clock, Timer } from '../clock.js';
import { ByteDevice, asRecord, bool, fromBcd, num, nums, toBcd } from './portio.js';

const NS = 1e9;
const A_UIP = 0x80, A_DV_MASK = 0x70, A_RS_MASK = 0x0f;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const D_VRT = 0x80;
/** UIP lead time before the update (244 µs) plus the update cycle (1984 µs), in ns. */
const UIP_WINDOW_NS = 244_000 + 1_984_000;
const REG_SEC = 0, REG_SEC_ALARM = 1, REG_MIN = 2, REG_MIN_ALARM = 3, REG_HOUR = 4, REG_HOUR_ALARM = 5, REG_DOW = 6;
const REG_DAY = 7, REG_MONTH = 8, REG_YEAR = 9, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const REG_CENTURY = 0x32;
const DEFAULT_START = Date.UTC(2026, 0, 1, 0, 0, 0);

export interface CmosOptions {
  /** Guest RAM size in bytes (for the memory size fields). */
  ramBytes: number;
  /** RTC time at virtual time 0 (default 2026-01-01T00:00:00Z). */
  start?: Date;
}

/** Periodic interrupt frequency (Hz) for rate select `rs` with the 32.768 kHz time base (0 = off). */
export function periodicHz(rs: number): number {
  if (rs === 0) return 0;
  return rs <= 2 ? 32768 >> (rs + 6) : 32768 >> (rs - 1);
}

/** Number of whole periods of a `hz` signal in `d` ns (exact for d up to ~2^53 ns). */
function edges(d: number, hz: number): number {
  const q = Math.floor(d / NS);
  return q * hz + Math.floor(((d - q * NS) * hz) / NS);
}
/** Time (ns after the reference) of edge `k` of a `hz` signal: ceil(k * 1e9 / hz). */
function edgeNs(k: number, hz: number): number {
  const q = Math.floor(k / hz);
  return q * NS + Math.ceil(((k - q * hz) * NS) / hz);
}

export class Cmos extends ByteDevice implements Snapshottable {
  readonly name = 'cmos';
  /** NVRAM bytes (indexes 0x0E-0x7F are used; the clock registers are computed). */
  private readonly ram = new Uint8Array(128);
  private index = 0;
  private nmiDisabled = false;
  private regA = 0x26;                         // DV = 010 (32.768 kHz), RS = 0110 (1024 Hz), as a BIOS leaves it
  private regB = B_24H;
  private flags = 0;
  /** RTC seconds (Unix time) at `baseNs`; updates happen at baseNs + k·1e9. */
  private baseSec: number;
  private baseNs: number;
  /** Time held while SET is 1 or the divider is in reset. */
  private frozenSec = 0;
  /** Reference of the divider chain (periodic edges at divNs + k·period). */
  private divNs = 0;
  /** Flags are accounted up to this virtual time. */
  private lastNs = 0;
  private dowAdjust = 0;
  private irqLevel = false;
  private readonly timer: Timer;

  constructor(private readonly clock: Clock, private readonly irq8: IrqLine, opts: CmosOptions) {
    super();
    const ms = opts.start ? opts.start.getTime() : DEFAULT_START;
    this.baseSec = Math.floor(ms / 1000);
    this.baseNs = (this.baseSec * 1000 - ms) * 1e6;   // <= 0: the sub-second part of the start
    this.timer = clock.addTimer('rtc', (ns) => this.onTimer(ns));
    this.lastNs = clock.nowNs();
    this.initMemoryFields(opts.ramBytes);
  }

  attach(io: IoBus): void { this.claim(io, 0x70, 2); }

  private initMemoryFields(ramBytes: number): void {
    const r = this.ram;
    const put16 = (i: number, v: number): void => { r[i] = v & 0xff; r[i + 1] = (v >> 8) & 0xff; };
    r[0x14] = 0x02;                              // equipment: no floppy, math coprocessor, EGA/VGA
    const kib = Math.floor(ramBytes / 1024);
    put16(0x15, Math.min(640, kib));
    const ext = Math.min(0xffff, Math.max(0, kib - 1024));
    put16(0x17, ext);
    put16(0x30, ext);
    put16(0x34, Math.min(0xffff, Math.max(0, Math.floor((ramBytes - (16 << 20)) / 65536))));
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += r[i];
    r[0x2e] = (sum >> 8) & 0xff; r[0x2f] = sum & 0xff;
  }

  // ------------------------------------------------------------------ time
  private divRunning(): boolean { return (this.regA & 0x60) !== 0x60; }
  private frozen(): boolean { return (this.regB & B_SET) !== 0 || !this.divRunning(); }
  private rate(): number { return this.divRunning() ? periodicHz(this.regA & A_RS_MASK) : 0; }
  private updatesBy(ns: number): number { return Math.floor((ns - this.baseNs) / NS); }

  /** The RTC's current time in Unix seconds. */
  private seconds(ns: number): number { return this.frozen() ? this.frozenSec : this.baseSec + this.updatesBy(ns); }

  private uip(ns: number): boolean {
    if (this.frozen()) return false;
    const into = (ns - this.baseNs) - this.updatesBy(ns) * NS;
    return into >= NS - UIP_WINDOW_NS;
  }

  private enc(v: number): number { return (this.regB & B_DM) !== 0 ? v : toBcd(v); }
  private dec(v: number): number { return (this.regB & B_DM) !== 0 ? v : fromBcd(v); }
  private encHour(h: number): number {
    if ((this.regB & B_24H) !== 0) return this.enc(h);
    return this.enc(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }
  private decHour(v: number): number {
    if ((this.regB & B_24H) !== 0) return this.dec(v);
    return (this.dec(v & 0x7f) % 12) + ((v & 0x80) !== 0 ? 12 : 0);
  }

  /** Clock register `reg` (0-9 or 0x32) for the time `sec`. */
  private timeReg(reg: number, sec: number): number {
    const d = new Date(sec * 1000);
    switch (reg) {
      case REG_SEC: return this.enc(d.getUTCSeconds());
      case REG_MIN: return this.enc(d.getUTCMinutes());
      case REG_HOUR: return this.encHour(d.getUTCHours());
      case REG_DOW: return this.enc(((d.getUTCDay() + this.dowAdjust) % 7) + 1);
      case REG_DAY: return this.enc(d.getUTCDate());
      case REG_MONTH: return this.enc(d.getUTCMonth() + 1);
      case REG_YEAR: return this.enc(d.getUTCFullYear() % 100);
      default: return this.enc(Math.floor(d.getUTCFullYear() / 100) % 100);
    }
  }

  /** A guest write to a time register: replace that field, keep the update phase. */
  private writeTime(reg: number, v: number, ns: number): void {
    const cur = this.seconds(ns);
    const d = new Date(cur * 1000);
    let Y = d.getUTCFullYear(), M = d.getUTCMonth(), D = d.getUTCDate(), h = d.getUTCHours(), m = d.getUTCMinutes(), s = d.getUTCSeconds();
    switch (reg) {
      case REG_SEC: s = this.dec(v & 0x7f); break;
      case REG_MIN: m = this.dec(v & 0x7f); break;
      case REG_HOUR: h = this.decHour(v); break;
      case REG_DOW: this.dowAdjust = (((this.dec(v) - 1 - d.getUTCDay()) % 7) + 7) % 7; return;
      case REG_DAY: D = this.dec(v); break;
      case REG_MONTH: M = this.dec(v) - 1; break;
      case REG_YEAR: Y = Math.floor(Y / 100) * 100 + this.dec(v); break;
      default: Y = this.dec(v) * 100 + (Y % 100); break;
    }
    const dow = d.getUTCDay();
    const next = Math.floor(Date.UTC(Y, M, D, h, m, s) / 1000);
    // The day of week is a separate counter on the chip: a date change does not re-derive it.
    this.dowAdjust = (((dow + this.dowAdjust - new Date(next * 1000).getUTCDay()) % 7) + 7) % 7;
    if (this.frozen()) this.frozenSec = next; else this.baseSec += next - cur;
  }

  // ------------------------------------------------------------------ flags and IRQ8
  /** Set PF/UF/AF for everything that happened in (lastNs, ns]. */
  private accrue(ns: number): void {
    if (ns <= this.lastNs) return;
    const hz = this.rate();
    if (hz !== 0 && edges(ns - this.divNs, hz) > edges(this.lastNs - this.divNs, hz)) this.flags |= C_PF;
    if (!this.frozen()) {
      const a = this.updatesBy(this.lastNs), b = this.updatesBy(ns);
      if (b > a) {
        this.flags |= C_UF;
        if (this.alarmIn(this.baseSec + a + 1, this.baseSec + b)) this.flags |= C_AF;
      }
    }
    this.lastNs = ns;
  }

  /** Does an update to any second in [from, to] match the alarm? */
  private alarmIn(from: number, to: number): boolean {
    const as = this.ram[REG_SEC_ALARM], am = this.ram[REG_MIN_ALARM], ah = this.ram[REG_HOUR_ALARM];
    const dc = (v: number): boolean => (v & 0xc0) === 0xc0;
    if (to - from >= 86400) to = from + 86399;    // every time of day occurs
    for (let s = from; s <= to; s++) {
      if ((dc(as) || this.timeReg(REG_SEC, s) === as) && (dc(am) || this.timeReg(REG_MIN, s) === am) &&
          (dc(ah) || this.timeReg(REG_HOUR, s) === ah)) return true;
    }
    return false;
  }

  private irqf(): boolean {
    const f = this.flags, b = this.regB;
    return ((f & C_PF) !== 0 && (b & B_PIE) !== 0) || ((f & C_AF) !== 0 && (b & B_AIE) !== 0) || ((f & C_UF) !== 0 && (b & B_UIE) !== 0);
  }

  /** Drive IRQ8 and arm the timer for the next event that could raise IRQF. */
  private update(ns: number): void {
    const level = this.irqf();
    if (level !== this.irqLevel) { this.irqLevel = level; this.irq8.set(level); }
    this.clock.arm(this.timer, this.nextDeadline(ns));
  }

  private nextDeadline(ns: number): number {
    if (this.irqLevel) return Infinity;          // IRQF stays set until register C is read
    let d = Infinity;
    const hz = this.rate();
    if ((this.regB & B_PIE) !== 0 && hz !== 0) d = this.divNs + edgeNs(edges(ns - this.divNs, hz) + 1, hz);
    if ((this.regB & (B_UIE | B_AIE)) !== 0 && !this.frozen()) d = Math.min(d, this.baseNs + (this.updatesBy(ns) + 1) * NS);
    return d;
  }

  private onTimer(ns: number): void {
    this.accrue(ns);
    this.update(ns);
  }

  // ------------------------------------------------------------------ ports
  protected inb(port: number): number {
    if (port === 0x70) return 0xff;              // the index register is write-only
    const ns = this.clock.nowNs();
    const i = this.index;
    switch (i) {
      case REG_SEC: case REG_MIN: case REG_HOUR: case REG_DOW: case REG_DAY: case REG_MONTH: case REG_YEAR: case REG_CENTURY:
        return this.timeReg(i, this.seconds(ns));
      case REG_SEC_ALARM: case REG_MIN_ALARM: case REG_HOUR_ALARM: return this.ram[i];
      case REG_A: return this.regA | (this.uip(ns) ? A_UIP : 0);
      case REG_B: return this.regB;
      case REG_C: {
        this.accrue(ns);
        const v = this.flags | (this.irqf() ? C_IRQF : 0);
        this.flags = 0;
        this.update(ns);
        return v;
      }
      case REG_D: return D_VRT;
      default: return this.ram[i];
    }
  }

  protected outb(port: number, v: number): void {
    if (port === 0x70) { this.index = v & 0x7f; this.nmiDisabled = (v & 0x80) !== 0; return; }
    const ns = this.clock.nowNs();
    const i = this.index;
    this.accrue(ns);
    switch (i) {
      case REG_SEC: case REG_MIN: case REG_HOUR: case REG_DOW: case REG_DAY: case REG_MONTH: case REG_YEAR: case REG_CENTURY:
        this.writeTime(i, v, ns);
        break;
      case REG_A: {
        const wasRunning = this.divRunning(), wasFrozen = this.frozen(), sec = this.seconds(ns);
        this.regA = v & (A_DV_MASK | A_RS_MASK);
        if (wasRunning && !this.divRunning()) this.frozenSec = sec;
        else if (!wasRunning && this.divRunning()) {
          this.divNs = ns;
          if (wasFrozen && !this.frozen()) { this.baseSec = this.frozenSec; this.baseNs = ns - NS / 2; }   // first update 500 ms later
        }
        break;
      }
      case REG_B: {
        const wasFrozen = this.frozen(), sec = this.seconds(ns);
        this.regB = (v & B_SET) !== 0 ? v & ~B_UIE : v;
        if (!wasFrozen && this.frozen()) this.frozenSec = sec;
        else if (wasFrozen && !this.frozen()) {
          // Updates resume on the divider's next second boundary.
          this.baseNs = this.baseNs + this.updatesBy(ns) * NS;
          this.baseSec = this.frozenSec;
        }
        break;
      }
      case REG_C: case REG_D: break;               // read-only
      default: this.ram[i] = v;
    }
    this.update(ns);
  }

  /** NMI disabled through port 0x70 bit 7 (no NMI source is wired yet). */
  nmiMasked(): boolean { return this.nmiDisabled; }

  save(): unknown {
    return {
      ram: Array.from(this.ram), index: this.index, nmiDisabled: this.nmiDisabled, regA: this.regA, regB: this.regB,
      flags: this.flags, baseSec: this.baseSec, baseNs: this.baseNs, frozenSec: this.frozenSec, divNs: this.divNs,
      lastNs: this.lastNs, dowAdjust: this.dowAdjust, irqLevel: this.irqLevel,
    };
  }

  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    const ram = nums(s, 'ram');
    if (ram.length !== 128) throw new Error(`${this.name}: bad snapshot`);
    this.ram.set(ram);
    this.index = num(s, 'index'); this.nmiDisabled = bool(s, 'nmiDisabled'); this.regA = num(s, 'regA');
    this.regB = num(s, 'regB'); this.flags = num(s, 'flags'); this.baseSec = num(s, 'baseSec'); this.baseNs = num(s, 'baseNs');
    this.frozenSec = num(s, 'frozenSec'); this.divNs = num(s, 'divNs'); this.lastNs = num(s, 'lastNs');
    this.dowAdjust = num(s, 'dowAdjust'); this.irqLevel = bool(s, 'irqLevel');
    this.timer.deadline = this.nextDeadline(this.clock.nowNs());
  }
}
