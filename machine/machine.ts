// The PC: one CPU, RAM, the port bus and the basic devices, wired like a PC/AT, plus the run loop
// that interleaves CPU execution with virtual-time device events. Browser-safe (no Node APIs).

import { CPU } from './cpu/cpu.js';
import { PhysMem } from './memory.js';
import { IoBus } from './bus.js';
import { Clock } from './clock.js';
import { AR, CR0, EFLAGS, SEG } from './cpu/arch.js';
import { Stop } from './cpu/state.js';
import { installDefaultCpuid } from './cpu/cpuid.js';
import { excName } from './cpu/exceptions.js';
import { Uart16550 } from './devices/uart16550.js';
import { PicPair } from './devices/pic8259.js';
import { Pit8254 } from './devices/pit8254.js';
import { Cmos } from './devices/cmos.js';
import { DebugExit, Port80, I8042, SysCtrlPortA } from './devices/misc.js';
import { BootError, isMultiboot, loadMultiboot } from './boot/multiboot.js';
import { loadLinux, type LinuxBootResult } from './boot/linux.js';
import { wrmsr } from './cpu/msr.js';
import { MAXPHYADDR } from './cpu/paging.js';
import { dumpState } from '../debug/dump.js';
import { VmxUnit } from './vmx/vmx-unit.js';
import { cr4ValidBits } from './cpu/cpuid.js';
import type { IrqLine } from './bus.js';
import { ApicBus, LocalApic } from './devices/lapic.js';
import { IoApic, isaIrqLines } from './devices/ioapic.js';
import { PciHost } from './devices/pci.js';
import { writeFirmwareTables } from './boot/acpi.js';
import { AcpiPm, ACPI_S5_SLP_TYP } from './devices/acpi-pm.js';

export interface MachineOptions {
  /** RAM size in bytes (multiple of 4 KiB). */
  memBytes: number;
  /** Bytes the guest transmits on COM1. */
  onSerial: (byte: number) => void;
  /** On an unimplemented instruction: stop with a report (default) or raise #UD in the guest. */
  stopOnUnimplemented?: boolean;
  /** Wall-clock start of the RTC (default 2026-01-01T00:00:00Z, for determinism). */
  rtcStart?: Date;
  /**
   * RAM above the guest's for a hypervisor's own use (bytes, multiple of 2 MiB): the machine has
   * memBytes + hostMemBytes, the firmware reports memBytes, so the guest sees the same machine
   * bare and hypervised.
   */
  hostMemBytes?: number;
}

/** How a run ended. `status` is the process exit status the CLI uses (see README). */
export const enum End {
  DebugExit = 'debug-exit', PowerOff = 'power-off', Reset = 'reset', TripleFault = 'triple-fault',
  Unsupported = 'unsupported', HaltedForever = 'halted', InstructionLimit = 'instruction-limit',
  /** The hypervisor stopped the machine (unhandled VM exit, guest triple fault, VMX failure...). */
  HypervisorHalt = 'hypervisor-halt',
}
export const EXIT_STATUS = {
  powerOff: 0, usage: 2, badInput: 4, tripleFault: 6, unsupported: 8, haltedForever: 10, instructionLimit: 12,
  unhandledVmExit: 14, internal: 70,
} as const;

export interface RunResult { end: End; status: number; message: string; }

export class Machine {
  readonly mem: PhysMem;
  readonly io = new IoBus();
  readonly clock = new Clock(1);
  readonly cpu: CPU;
  readonly pic: PicPair;
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly cmos: Cmos;
  readonly port80: Port80;
  readonly kbc: I8042;
  /** The processor's VMX unit: the interface a hypervisor drives (machine/vmx/vmx-unit.ts). */
  readonly vmx: VmxUnit;
  private pending: RunResult | null = null;
  /** The last result, once the machine has stopped for good. */
  result: RunResult | null = null;

  constructor(readonly opts: MachineOptions) {
    this.mem = new PhysMem(opts.memBytes + (opts.hostMemBytes ?? 0));
    this.mem.firmwareTop = opts.memBytes;
    this.cpu = new CPU(this.io, this.clock);
    this.cpu.attachMemory(this.mem);
    this.cpu.stopOnUnimplemented = opts.stopOnUnimplemented ?? true;
    installDefaultCpuid(this.cpu);
    this.vmx = new VmxUnit(this.cpu, this.mem, cr4ValidBits(this.cpu));

    // A timer armed by a device during a CPU run may be earlier than the deadline the run was sized to.
    this.clock.onArm = () => { this.cpu.blockStop = true; if (this.cpu.stop === Stop.None) this.cpu.stop = Stop.Requested; };
    this.pic = new PicPair();
    this.pic.attach(this.io);
    this.cpu.intc = this.pic;
    this.wirePlatformDevices();
    this.wireFpuError();
    this.pit = new Pit8254(this.clock, this.isaIrq(0));
    this.pit.attach(this.io);
    this.uart = new Uart16550(0x3f8, this.isaIrq(4), (b) => opts.onSerial(b));
    this.uart.attach(this.io);
    this.cmos = new Cmos(this.clock, this.isaIrq(8), { ramBytes: opts.memBytes, start: opts.rtcStart });
    this.cmos.attach(this.io);
    this.port80 = new Port80();
    this.port80.attach(this.io);
    new DebugExit((status) => this.finish({ end: End.DebugExit, status, message: `guest wrote to the debug-exit port (status ${status})` })).attach(this.io);
    const a20 = (on: boolean): void => { this.mem.a20 = on; this.cpu.flushTlb(false); };
    const reset = (): void => this.finish({ end: End.Reset, status: EXIT_STATUS.powerOff, message: 'guest requested a reset' });
    this.kbc = new I8042({ onA20: a20, onReset: reset });
    this.kbc.attach(this.io);
    new SysCtrlPortA({ onA20: a20, onReset: reset }).attach(this.io);
    this.cpu.reset();
  }

  // ------------------------------------------------------------------ platform devices (lapic/ioapic/pci helper)
  /** The APIC bus, the BSP's local APIC, the I/O APIC and the PCI host (machine/devices/lapic.ts, ioapic.ts, pci.ts). */
  apicBus!: ApicBus;
  lapic!: LocalApic;
  ioapic!: IoApic;
  pci!: PciHost;
  acpiPm!: AcpiPm;
  private isaLines: (IrqLine | null)[] = [];
  /** MMIO ranges of the platform devices, to list as reserved in memory maps given to guests. */
  readonly platformReserved = [{ base: 0xfec00000, length: 0x1000 }, { base: 0xfee00000, length: 0x1000 }];

  /** ISA IRQ line n as devices use it: it feeds the 8259 pair and the I/O APIC (IRQ0 → pin 2), as on a PC. */
  isaIrq(n: number): IrqLine {
    const l = this.isaLines[n];
    if (!l) throw new Error(`no ISA IRQ line ${n}`);
    return l;
  }

  /**
   * Local APIC (the CPU's interrupt controller, in virtual wire mode as a BIOS leaves it: the 8259
   * reaches the CPU through LINT0), I/O APIC at 0xFEC00000, PCI configuration mechanism #1 with the
   * host bridge, the ACPI PM registers (0x600), and the MP and ACPI tables describing them at 0xF0000
   * (a reserved range in every memory map).
   */
  private wirePlatformDevices(): void {
    const cpu = this.cpu;
    this.apicBus = new ApicBus(this.mem);
    this.apicBus.onMapChange = () => cpu.flushTlb(false);
    this.lapic = new LocalApic(this.clock, 0, this.pic);
    this.lapic.signals = {
      nmi: () => { cpu.nmiPending = true; cpu.blockStop = true; },
      init: () => { /* INIT/SIPI reach the CPU with SMP (not wired yet) */ },
      sipi: () => { /* idem */ },
      smi: () => { /* no SMM */ },
      kick: () => { cpu.blockStop = true; },
    };
    this.apicBus.add(this.lapic);
    this.lapic.setApicBase(cpu.apicBase, cpu.apicBaseHi);
    this.lapic.biosVirtualWire();
    cpu.hooks.onApicBaseWrite = (lo, hi) => this.lapic.setApicBase(lo, hi);
    cpu.intc = this.lapic;
    this.ioapic = new IoApic(this.apicBus, 1);
    this.mem.mapMmio(this.ioapic.base, 0x1000, this.ioapic);
    this.isaLines = isaIrqLines(this.pic, this.ioapic);
    this.pci = new PciHost();
    this.pci.onReset = () => this.finish({ end: End.Reset, status: EXIT_STATUS.powerOff, message: 'guest requested a reset (port 0xCF9)' });
    this.pci.attach(this.io);
    this.acpiPm = new AcpiPm(this.clock, this.isaIrq(9));
    this.acpiPm.onSleep = (typ) => {
      if (typ === ACPI_S5_SLP_TYP) this.finish({ end: End.PowerOff, status: EXIT_STATUS.powerOff, message: 'guest powered off (ACPI S5)' });
    };
    this.acpiPm.attach(this.io);
    if (this.mem.size >= 0x100000) writeFirmwareTables(this.mem, { cpus: 1, ioapicId: 1, ramBytes: this.opts.memBytes, acpi: true });
  }

  // ------------------------------------------------------------------ x87 error reporting (Linux-guest helper)
  /**
   * The PC/AT wiring of the x87's FERR# (SDM Vol1 D.2.1, Figure D-1): FERR# requests IRQ 13; an
   * OUT to port F0h clears that request and asserts IGNNE#, which stays asserted until FERR# goes
   * inactive (fpu/x87.ts clears `ignne` then). Used by software that runs with CR0.NE = 0.
   */
  private wireFpuError(): void {
    const fpu = this.cpu.fpu;
    const irq13 = this.isaIrq(13);
    // FERR# goes active inside an instruction: end the CPU's block so the IRQ is seen at the next boundary.
    fpu.onFerr = (on) => { irq13.set(on); if (on) this.cpu.blockStop = true; };
    this.io.register(0xf0, 1, {
      name: 'fpu-error-latch',
      in: (_port, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : -1),
      out: () => { if (fpu.ferr) { fpu.ignne = true; irq13.set(false); } },
    });
  }

  /** Stop the run at the next instruction boundary with `r`. */
  finish(r: RunResult): void {
    if (this.pending) return;
    this.pending = r;
    this.cpu.stop = Stop.Requested;
    this.cpu.blockStop = true;
  }

  /** Load a kernel image (Multiboot v1) and set the CPU to its entry state. */
  loadKernel(image: Uint8Array, opts: { cmdline?: string } = {}): void {
    if (!isMultiboot(image)) throw new BootError('not a Multiboot kernel (no Multiboot header in the first 8 KiB)');
    const r = loadMultiboot(image, this.mem, { cmdline: opts.cmdline ?? '' });
    this.enterMultiboot(r.entry, r.eax, r.ebx);
  }

  /**
   * Load a Linux bzImage (boot.rst, machine/boot/linux.ts) with an optional initrd, and set the CPU
   * to the 32-bit boot protocol entry state: protected mode, paging off, IF = 0, GDT with flat
   * __BOOT_CS (0x10) and __BOOT_DS (0x18) loaded, CS = 0x10, DS/ES/SS (and FS/GS) = 0x18,
   * ESI = boot_params, EBP = EDI = EBX = 0.
   */
  loadLinux(image: Uint8Array, opts: { cmdline?: string; initrd?: Uint8Array | null; reserved?: { base: number; length: number }[] } = {}): LinuxBootResult {
    const r = loadLinux(image, this.mem, { cmdline: opts.cmdline ?? '', initrd: opts.initrd ?? null, reserved: opts.reserved ?? [], physBits: MAXPHYADDR });
    const c = this.cpu;
    c.reset();
    c.flushCodeCache();
    // The firmware's MTRR setup (boot/linux.ts firmwareMtrrs).
    for (const w of r.msrs) if (!wrmsr(c, w.index, w.lo, w.hi)) throw new Error(`firmware WRMSR 0x${w.index.toString(16)} refused`);
    c.cr0 = CR0.PE | CR0.ET;
    c.flags = EFLAGS.FIXED1;
    c.gdtrBase = r.gdtBase; c.gdtrLimit = r.gdtLimit;
    c.updateMode();
    c.setSegCache(SEG.CS, r.cs, 0, 0xffffffff, AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G);
    for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) c.setSegCache(s, r.ds, 0, 0xffffffff, AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G);
    c.updateMode();
    c.r32.fill(0);
    c.r32[6] = r.esi;          // ESI
    c.r32[4] = r.bootParams;   // ESP: not defined by the protocol; below the zero page, in free low memory
    c.eip = r.entry;
    this.mem.a20 = true;
    return r;
  }

  /** CPU state at a Multiboot entry (Multiboot spec 3.2): flat 32-bit protected mode, paging off, IF = 0. */
  enterMultiboot(entry: number, eax: number, ebx: number): void {
    const c = this.cpu;
    c.reset();
    c.flushCodeCache();
    c.cr0 = CR0.PE | CR0.ET;
    c.flags = EFLAGS.FIXED1;
    c.updateMode();
    const code = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
    const data = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
    c.setSegCache(SEG.CS, 0x08, 0, 0xffffffff, code);
    for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) c.setSegCache(s, 0x10, 0, 0xffffffff, data);
    c.updateMode();
    c.r32[0] = eax; c.r32[3] = ebx;
    c.eip = entry;
    this.mem.a20 = true;
  }

  /**
   * Run up to `budget` instructions. Returns the result when the machine stopped for good, or
   * null if the budget ran out (or the CPU idles waiting for input, see `idle`).
   */
  runSlice(budget: number, limit = Infinity, untilNs = Infinity): RunResult | null {
    if (this.result) return this.result;
    const clock = this.clock, cpu = this.cpu;
    const end = Math.min(clock.insns + budget, limit);
    this.idle = false;
    let haltSkips = 0;
    // `untilNs` bounds the virtual time of the slice (a front end pacing idle time to the wall clock).
    while (clock.insns < end && clock.nowNs() < untilNs) {
      const deadline = clock.nextDeadline();
      const dlInsn = deadline === Infinity ? Infinity : Math.ceil((deadline - clock.skippedNs) / clock.nsPerInsn);
      const until = Math.max(clock.insns + 1, Math.min(end, dlInsn));
      // A VM exit that happened inside VMLAUNCH/VMRESUME (entry failure, exit while injecting an event)
      // is dispatched before any code runs: the processor is at HOST_RIP.
      let stop = this.vmx.exitPending ? Stop.VmExit : cpu.run(until);
      if (stop === Stop.VmExit) {
        // The processor is in VMX root operation: run the host's exit handler (the code at HOST_RIP).
        this.vmx.dispatchExits();
        stop = Stop.None;
        if (this.vmx.hostHalt === null && cpu.nonRoot === null) this.vmx.haltHost('the hypervisor returned from a VM exit without resuming the guest', EXIT_STATUS.internal);
      }
      clock.runDue();
      if (this.vmx.hostHalt !== null) {
        const h = this.vmx.hostHalt;
        return this.stopWith({ end: h.status === EXIT_STATUS.tripleFault ? End.TripleFault : End.HypervisorHalt, status: h.status, message: h.message });
      }
      if (this.pending) return this.stopWith(this.pending);
      switch (stop) {
        case Stop.TripleFault:
          return this.stopWith({ end: End.TripleFault, status: EXIT_STATUS.tripleFault, message: `${cpu.stopMessage}\n${dumpState(cpu)}` });
        case Stop.Debug: return null; // the debugger stopped the CPU (debug/machine-target.ts knows why)
        case Stop.Unsupported:
          return this.stopWith({ end: End.Unsupported, status: EXIT_STATUS.unsupported, message: `${cpu.stopMessage}\n${dumpState(cpu)}` });
        case Stop.Halted: {
          if (cpu.pendingEvent()) { haltSkips = 0; break; }
          const next = clock.nextDeadline();
          if (!cpu.canWake()) {
            return this.stopWith({ end: End.HaltedForever, status: EXIT_STATUS.haltedForever, message: `CPU halted with interrupts disabled at ${hex(cpu.segSel[SEG.CS], 4)}:${hex(cpu.eip)}: nothing can wake it` });
          }
          if (next === Infinity) {
            // Interrupts on, but no timer armed: only external input (serial) can wake the CPU.
            this.idle = true;
            return null;
          }
          // Timers keep firing but none wakes the CPU (their IRQs are masked): after many such
          // skips the machine is idle, like one waiting for input (bounded, never a busy loop).
          if (++haltSkips > 10_000) { this.idle = true; return null; }
          if (next > untilNs) { clock.skipTo(untilNs); return null; }
          clock.skipTo(next);
          clock.runDue();
          break;
        }
        default: break;
      }
    }
    if (clock.insns >= limit) {
      return this.stopWith({ end: End.InstructionLimit, status: EXIT_STATUS.instructionLimit, message: `instruction limit reached (${limit} instructions) at ${hex(cpu.segSel[SEG.CS], 4)}:${hex(cpu.eip)}` });
    }
    return null;
  }
  /** True after runSlice returned because the CPU is halted with nothing but input to wake it. */
  idle = false;

  private stopWith(r: RunResult): RunResult {
    this.result = r;
    return r;
  }

  /** Run synchronously to the end (tests, benchmarks). A halted-idle CPU with no input ends the run. */
  runToEnd(limit = Infinity): RunResult {
    for (;;) {
      const r = this.runSlice(50_000_000, limit);
      if (r) return r;
      if (this.idle) {
        return this.stopWith({ end: End.HaltedForever, status: EXIT_STATUS.haltedForever, message: 'CPU halted waiting for input, and there is none' });
      }
    }
  }
}

function hex(v: number, w = 8): string { return (v >>> 0).toString(16).padStart(w, '0'); }
export { excName };
