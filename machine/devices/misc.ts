// Small PC devices: QEMU's isa-debug-exit (0xf4), the POST code port (0x80, plus 0xED used as an
// I/O delay), the 8042 keyboard controller (0x60/0x64) and system control port A (0x92).

import type { IoBus, PortHandler, Snapshottable } from '../bus.js';
import { ByteDevice, asRecord, num, nums } from './portio.js';

/**
 * QEMU's isa-debug-exit device at 0xf4: a write of `v` ends the run with process status
 * (v << 1) | 1. Any access size is accepted; the value is taken at the written width.
 */
export class DebugExit implements PortHandler, Snapshottable {
  readonly name = 'isa-debug-exit';
  constructor(private readonly cb: (status: number) => void, readonly port = 0xf4) {}
  attach(io: IoBus): void { io.register(this.port, 1, this); }
  in(_port: number, size: number): number { return size === 1 ? 0xff : size === 2 ? 0xffff : -1; }
  out(_port: number, size: number, value: number): void {
    const v = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    this.cb(v * 2 + 1);
  }
  save(): unknown { return {}; }
  restore(_state: unknown): void { /* stateless */ }
}

/** POST code port 0x80 (last value kept, read back as written) and the 0xED I/O-delay port (a sink). */
export class Port80 extends ByteDevice implements Snapshottable {
  readonly name = 'port80';
  /** The last POST code written to port 0x80. */
  last = 0;
  attach(io: IoBus): void {
    this.claim(io, 0x80, 1);
    this.claim(io, 0xed, 1);
  }
  protected inb(port: number): number { return port === 0x80 ? this.last : 0xff; }
  protected outb(port: number, v: number): void { if (port === 0x80) this.last = v; }
  save(): unknown { return { last: this.last }; }
  restore(state: unknown): void { this.last = num(asRecord(state, this.name), 'last'); }
}

export interface ResetA20Hooks {
  /** The A20 gate output changed (true = A20 enabled). */
  onA20: (on: boolean) => void;
  /** The device asserted the CPU reset line. */
  onReset: () => void;
}

/** 8042 status register bits. */
const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUXB = 0x20;
/** Controller command byte (CTR) bits. */
const CTR_KBDDIS = 0x10, CTR_AUXDIS = 0x20;
/** Output port bits: 0 = system reset (active low), 1 = A20 gate, 4/5 = output buffer full (IRQ1/IRQ12). */
const OP_RESET = 0x01, OP_A20 = 0x02, OP_OBF_KBD = 0x10, OP_OBF_AUX = 0x20;

/**
 * Intel 8042-compatible PS/2 keyboard controller, with no keyboard or mouse attached and no IRQ
 * lines wired. Commands (written to 0x64) run at once, so IBF always reads 0:
 *   0x20-0x3F read controller RAM (0x20 = command byte), 0x60-0x7F write it (next data byte),
 *   0xA7/0xA8 disable/enable the aux port (CTR bit 5), 0xA9/0xAB aux/keyboard interface tests
 *   (0x00 = passed), 0xAA self test (0x55), 0xAD/0xAE disable/enable the keyboard (CTR bit 4),
 *   0xC0 read input port, 0xD0/0xD1 read/write the output port (bit 1 A20, bit 0 = 0 resets the
 *   CPU), 0xD2/0xD3 echo the next data byte as keyboard/aux output, 0xD4 send to the aux device,
 *   0xDD/0xDF A20 off/on, 0xF0-0xFF pulse output port bits low (0xFE: reset).
 * A data byte written to 0x60 outside a command goes to the keyboard, which is absent: it gets no
 * answer. Reading 0x60 with nothing buffered returns the last byte again (OBF stays 0).
 * What Linux's i8042 driver finds: a working controller (self test passes, command byte reads
 * back) with an aux port that answers the loop test but whose IRQ12 never arrives, so it drops the
 * aux port after its IRQ test; the keyboard port is registered and the keyboard probe times out.
 */
export class I8042 extends ByteDevice implements Snapshottable {
  readonly name = 'i8042';
  private readonly ram = new Uint8Array(32);
  private status = ST_SYS | ST_UNLOCKED;
  private outPort = 0xcf;
  /** Pending output bytes (value | 0x100 for aux data). */
  private outQ: number[] = [];
  private outLast = 0;
  /** Command waiting for its data byte (0 = none). */
  private pending = 0;

  constructor(private readonly hooks: ResetA20Hooks) {
    super();
    this.ram[0] = 0x45;                           // keyboard interrupt, system flag, scancode translation
  }

  attach(io: IoBus): void {
    this.claim(io, 0x60, 1);
    this.claim(io, 0x64, 1);
  }

  private emit(v: number, aux = false): void { this.outQ.push((v & 0xff) | (aux ? 0x100 : 0)); }

  private statusValue(): number {
    let s = this.status & ~(ST_OBF | ST_AUXB);
    if (this.outQ.length > 0) s |= ST_OBF | ((this.outQ[0] & 0x100) !== 0 ? ST_AUXB : 0);
    return s;
  }

  protected inb(port: number): number {
    if (port === 0x64) return this.statusValue();
    const b = this.outQ.shift();
    if (b !== undefined) this.outLast = b & 0xff;
    return this.outLast;
  }

  protected outb(port: number, v: number): void {
    if (port === 0x64) { this.status |= ST_CMD; this.command(v); return; }
    this.status &= ~ST_CMD;
    const cmd = this.pending;
    this.pending = 0;
    if (cmd === 0) return;                        // to the keyboard: none attached
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.ram[cmd - 0x60] = v;
      if (cmd === 0x60) this.status = (this.status & ~ST_SYS) | (v & ST_SYS);
      return;
    }
    switch (cmd) {
      case 0xd1: this.writeOutPort(v); break;
      case 0xd2: this.emit(v); break;
      case 0xd3: this.emit(v, true); break;
      default: break;                             // 0xd4: to the aux device, none attached
    }
  }

  private command(c: number): void {
    this.pending = 0;
    if (c >= 0x20 && c <= 0x3f) { this.emit(this.ram[c - 0x20]); return; }
    if (c >= 0x60 && c <= 0x7f) { this.pending = c; return; }
    if (c >= 0xf0) {
      // Pulse output port bits 0-3 low where the command's low bits are 0.
      if ((c & 1) === 0) this.hooks.onReset();
      return;
    }
    switch (c) {
      case 0xa7: this.ram[0] |= CTR_AUXDIS; break;
      case 0xa8: this.ram[0] &= ~CTR_AUXDIS; break;
      case 0xa9: case 0xab: this.emit(0x00); break;
      case 0xaa: this.status |= ST_SYS; this.emit(0x55); break;
      case 0xad: this.ram[0] |= CTR_KBDDIS; break;
      case 0xae: this.ram[0] &= ~CTR_KBDDIS; break;
      case 0xc0: this.emit(0xbf); break;          // input port: keyboard not inhibited, no jumpers
      case 0xd0: {
        const q = this.outQ.length > 0 ? this.outQ[0] : -1;
        this.emit((this.outPort & ~(OP_OBF_KBD | OP_OBF_AUX)) | (q >= 0 ? ((q & 0x100) !== 0 ? OP_OBF_AUX : OP_OBF_KBD) : 0));
        break;
      }
      case 0xd1: case 0xd2: case 0xd3: case 0xd4: this.pending = c; break;
      case 0xdd: this.writeOutPort(this.outPort & ~OP_A20); break;
      case 0xdf: this.writeOutPort(this.outPort | OP_A20); break;
      default: break;                             // unknown commands are ignored
    }
  }

  private writeOutPort(v: number): void {
    const old = this.outPort;
    this.outPort = v;
    if (((old ^ v) & OP_A20) !== 0) this.hooks.onA20((v & OP_A20) !== 0);
    if ((v & OP_RESET) === 0) this.hooks.onReset();
  }

  save(): unknown {
    return { ram: Array.from(this.ram), status: this.status, outPort: this.outPort, outQ: [...this.outQ], outLast: this.outLast, pending: this.pending };
  }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    const ram = nums(s, 'ram');
    if (ram.length !== 32) throw new Error(`${this.name}: bad snapshot`);
    this.ram.set(ram);
    this.status = num(s, 'status'); this.outPort = num(s, 'outPort'); this.outQ = nums(s, 'outQ').slice();
    this.outLast = num(s, 'outLast'); this.pending = num(s, 'pending');
  }
}

/** Port 0x92 bits: 0 = fast reset (on a 0→1 write), 1 = A20 gate. */
const PA_RESET = 0x01, PA_A20 = 0x02;

/** System control port A (0x92, "fast A20 and reset"). A20 starts enabled, as the machine starts guests. */
export class SysCtrlPortA extends ByteDevice implements Snapshottable {
  readonly name = 'sysctrl-a';
  private value = PA_A20;
  constructor(private readonly hooks: ResetA20Hooks) { super(); }
  attach(io: IoBus): void { this.claim(io, 0x92, 1); }
  protected inb(): number { return this.value; }
  protected outb(_port: number, v: number): void {
    const old = this.value;
    this.value = v;
    if (((old ^ v) & PA_A20) !== 0) this.hooks.onA20((v & PA_A20) !== 0);
    if ((old & PA_RESET) === 0 && (v & PA_RESET) !== 0) this.hooks.onReset();
  }
  save(): unknown { return { value: this.value }; }
  restore(state: unknown): void { this.value = num(asRecord(state, this.name), 'value'); }
}
