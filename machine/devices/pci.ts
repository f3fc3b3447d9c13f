// PCI host bridge: configuration mechanism #1 at 0xCF8/0xCFC and the host bridge function itself
// (bus 0, device 0), modelled on the Intel 440FX PMC (8086:1237, class 06/00/00). Also the PIIX
// reset control register at 0xCF9, which PC chipsets decode inside the 0xCF8 dword.
//
// Facts from the PCI Local Bus Specification 3.0, 3.2.2.3.2 ("Software Generation of Configuration
// Transactions"), configuration mechanism #1:
// - CONFIG_ADDRESS at 0xCF8 is a 32-bit register reached only by doubleword I/O: bit 31 enable,
//   30:24 reserved (read 0), 23:16 bus, 15:11 device, 10:8 function, 7:2 register, 1:0 read as 0.
//   Byte and word accesses to 0xCF8-0xCFB are ordinary I/O cycles, not CONFIG_ADDRESS.
// - CONFIG_DATA at 0xCFC-0xCFF: byte, word or dword accesses reach the bytes of the selected
//   dword at offset (port & 3). With the enable bit clear they are ordinary I/O (nothing here:
//   reads float to all ones, writes are dropped).
// - A configuration read of a function that does not exist ends in master abort: all ones,
//   which is how software sees vendor ID 0xFFFF ("no device").
// Header (PCI spec 6.1): vendor 0x00, device 0x02, command 0x04, status 0x06, revision 0x08,
// class code 0x09-0x0B, header type 0x0E (bit 7 = multi-function).
// Reset control register (Intel PIIX3/PIIX4 datasheets, RC at 0xCF9): bit 1 SYS_RST (hard reset),
// bit 2 RST_CPU (a 0->1 transition starts the reset), bit 3 FULL_RST. Any reset ends the run here.

import type { IoBus, PortHandler, Snapshottable } from '../bus.js';
import { asRecord, num, nums } from './portio.js';

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
export const PCI_RESET_CONTROL = 0xcf9;
/** CONFIG_ADDRESS fields (PCI spec 3.2.2.3.2). */
export const CONFIG_ADDRESS = { ENABLE: 1 << 31, WRITABLE: 0x80fffffc | 0 } as const;
/** Configuration header offsets (PCI spec 6.1). */
export const PCI_CFG = {
  VENDOR_ID: 0x00, DEVICE_ID: 0x02, COMMAND: 0x04, STATUS: 0x06, REVISION_ID: 0x08, PROG_IF: 0x09,
  SUBCLASS: 0x0a, CLASS: 0x0b, CACHE_LINE_SIZE: 0x0c, LATENCY_TIMER: 0x0d, HEADER_TYPE: 0x0e, BIST: 0x0f,
} as const;
/** Command register bits (PCI spec 6.2.2). */
export const PCI_COMMAND = { IO: 1 << 0, MEMORY: 1 << 1, MASTER: 1 << 2, PARITY: 1 << 6, SERR: 1 << 8 } as const;
/** Status register bits (PCI spec 6.2.3): DEVSEL timing 10:9 (01 = medium), fast back-to-back capable 7. */
export const PCI_STATUS = { FAST_B2B: 1 << 7, DEVSEL_MEDIUM: 1 << 9 } as const;
const RC_RST_CPU = 0x04, RC_WRITABLE = 0x0e;

/** One PCI function's 256-byte configuration space. */
export interface PciFunction extends Snapshottable {
  readonly name: string;
  /** The aligned dword at register `reg` (a multiple of 4, 0-252). */
  configRead(reg: number): number;
  /** Write `size` bytes of `value` at register `reg` (reg + size stays within its dword). */
  configWrite(reg: number, size: number, value: number): void;
}

/**
 * A function whose configuration space is a byte array with a per-byte writable mask: the generic
 * base for simple devices.
 */
export class PciConfigSpace {
  readonly bytes = new Uint8Array(256);
  readonly writable = new Uint8Array(256);
  read32(reg: number): number {
    const b = this.bytes;
    return b[reg] | (b[reg + 1] << 8) | (b[reg + 2] << 16) | (b[reg + 3] << 24);
  }
  write(reg: number, size: number, value: number): void {
    for (let k = 0; k < size; k++) {
      const m = this.writable[reg + k];
      this.bytes[reg + k] = (this.bytes[reg + k] & ~m) | ((value >>> (8 * k)) & m);
    }
  }
  set16(reg: number, v: number): void { this.bytes[reg] = v; this.bytes[reg + 1] = v >>> 8; }
}

/** Identity of the host bridge: Intel 82441FX PMC (440FX), revision 2. */
export const HOST_BRIDGE_ID = { vendor: 0x8086, device: 0x1237, revision: 0x02, classCode: 0x060000 } as const;

/**
 * The host bridge at 00:00.0. No BARs. Memory space and bus mastering are always on (it is the
 * CPU's path to memory); parity/SERR enables and the latency timer are writable; the chipset
 * registers 0x40-0xFF (PAM, DRB, SMRAM... on a real 440FX) are kept as written and have no effect.
 */
export class HostBridge implements PciFunction {
  readonly name = 'pci-host-bridge';
  private readonly cfg = new PciConfigSpace();
  constructor() {
    const c = this.cfg;
    c.set16(PCI_CFG.VENDOR_ID, HOST_BRIDGE_ID.vendor);
    c.set16(PCI_CFG.DEVICE_ID, HOST_BRIDGE_ID.device);
    c.set16(PCI_CFG.COMMAND, PCI_COMMAND.MEMORY | PCI_COMMAND.MASTER);
    c.set16(PCI_CFG.STATUS, PCI_STATUS.FAST_B2B | PCI_STATUS.DEVSEL_MEDIUM);
    c.bytes[PCI_CFG.REVISION_ID] = HOST_BRIDGE_ID.revision;
    c.bytes[PCI_CFG.PROG_IF] = HOST_BRIDGE_ID.classCode & 0xff;
    c.bytes[PCI_CFG.SUBCLASS] = (HOST_BRIDGE_ID.classCode >>> 8) & 0xff;
    c.bytes[PCI_CFG.CLASS] = HOST_BRIDGE_ID.classCode >>> 16;
    c.bytes[PCI_CFG.HEADER_TYPE] = 0x00;
    c.writable[PCI_CFG.COMMAND] = PCI_COMMAND.PARITY;
    c.writable[PCI_CFG.COMMAND + 1] = PCI_COMMAND.SERR >>> 8;
    c.writable[PCI_CFG.LATENCY_TIMER] = 0xff;
    c.writable.fill(0xff, 0x40, 0x100);
  }
  configRead(reg: number): number { return this.cfg.read32(reg); }
  configWrite(reg: number, size: number, value: number): void { this.cfg.write(reg, size, value); }
  save(): unknown { return { bytes: [...this.cfg.bytes] }; }
  restore(state: unknown): void { this.cfg.bytes.set(nums(asRecord(state, this.name), 'bytes')); }
}

/** Bus/device/function key. */
export function bdf(bus: number, dev: number, fn: number): number { return (bus << 8) | (dev << 3) | fn; }

/** Configuration mechanism #1 and the functions behind it. */
export class PciHost implements PortHandler, Snapshottable {
  readonly name = 'pci';
  private address = 0;
  private rc = 0;
  private readonly functions = new Map<number, PciFunction>();
  /** Called when the guest requests a reset through 0xCF9. */
  onReset: (() => void) | null = null;

  constructor() { this.add(0, 0, 0, new HostBridge()); }

  add(bus: number, dev: number, fn: number, f: PciFunction): void {
    const key = bdf(bus, dev, fn);
    if (this.functions.has(key)) throw new Error(`PCI ${bus}:${dev}.${fn} is taken`);
    this.functions.set(key, f);
  }

  attach(io: IoBus): void { io.register(PCI_CONFIG_ADDRESS, 8, this); }

  /** The selected function and register, or null when disabled or absent. */
  private selected(): PciFunction | null {
    if ((this.address & CONFIG_ADDRESS.ENABLE) === 0) return null;
    return this.functions.get((this.address >>> 8) & 0xffff) ?? null;
  }

  in(port: number, size: number): number {
    const ones = size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    if (port === PCI_CONFIG_ADDRESS && size === 4) return this.address;
    if (port < PCI_CONFIG_DATA) return port === PCI_RESET_CONTROL && size === 1 ? this.rc : ones;
    if ((this.address & CONFIG_ADDRESS.ENABLE) === 0) return ones;
    const f = this.selected();
    if (f === null) return ones;                                  // master abort
    const sh = 8 * (port & 3);
    const v = f.configRead(this.address & 0xfc) >>> sh;
    // Bytes past the dword (a word at 0xCFF) are not part of this cycle: they float high.
    const fill = sh === 0 ? 0 : -1 << (32 - sh);
    const r = v | fill;
    return size === 4 ? r | 0 : r & ones;
  }

  out(port: number, size: number, value: number): void {
    if (port === PCI_CONFIG_ADDRESS && size === 4) { this.address = value & CONFIG_ADDRESS.WRITABLE; return; }
    if (port < PCI_CONFIG_DATA) {
      if (port === PCI_RESET_CONTROL && size === 1) {
        const was = this.rc;
        this.rc = value & RC_WRITABLE;
        if ((value & RC_RST_CPU) !== 0 && (was & RC_RST_CPU) === 0 && this.onReset) this.onReset();
      }
      return;
    }
    const f = this.selected();
    if (f === null) return;
    const off = port & 3;
    const n = Math.min(size, 4 - off);
    f.configWrite((this.address & 0xfc) + off, n, value & (n === 4 ? -1 : (1 << (8 * n)) - 1));
  }

  save(): unknown {
    const fns: Record<string, unknown> = {};
    for (const [k, f] of this.functions) fns[k] = f.save();
    return { address: this.address, rc: this.rc, functions: fns };
  }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.address = num(s, 'address'); this.rc = num(s, 'rc');
    const fns = asRecord(s.functions, this.name);
    for (const [k, f] of this.functions) if (fns[k] !== undefined) f.restore(fns[k]);
  }
}
