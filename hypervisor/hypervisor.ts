// The hypervisor core, XMHF-style. It is written against the VMX interface of the machine's CPU
// (machine/vmx/vmx-unit.ts) the way XMHF is written against a real CPU:
//   launch():  take over the processor — capture where the boot loader left the guest, build the
//              host environment in the hypervisor's own memory (GDT, TSS, page directory), VMXON,
//              build the VMCS (controls, host state, guest state), VMLAUNCH;
//   onExit():  the code at HOST_RIP — save the guest GPRs, dispatch on the exit reason
//              (exits.ts), restore the GPRs, VMRESUME.
// The guest sees the machine it would see bare: the core owns only what VMX forces on it (CR0.NE,
// CR4.VMXE, the VMX MSRs), hides VMX from CPUID, and leaves devices and interrupts to the guest.
//
// Runs in: VMX root operation. Browser-safe (no Node APIs).

import type { VmxUnit } from '../machine/vmx/vmx-unit.js';
import type { PhysMem } from '../machine/memory.js';
import { F } from '../machine/vmx/vmcs-fields.js';
import { VMCS_REVISION } from '../machine/vmx/capabilities.js';
import { EXIT_REASON_ENTRY_FAILURE } from '../machine/vmx/exit-reasons.js';
import { ACTIVITY, VMX_ERROR_NAMES } from '../machine/vmx/controls.js';
import { lastEntryFailure } from '../machine/vmx/entry.js';
import { CR0, CR4, MSR, SEG } from '../machine/cpu/arch.js';
import { FEATURE_CONTROL } from '../machine/vmx/vmx-unit.js';
import { HostMemory } from './host-memory.js';
import { EptMap } from './ept-map.js';
import { VCpu } from './vcpu.js';
import type { HypApp } from './hypapp.js';
import { adjustControls, initState, wantedControls, writeControls, writeGuestState, writeHostState } from './vmcs-setup.js';
import { dispatchExit } from './exits.js';
import { exitDump } from './dump.js';

/** Memory the hypervisor keeps for itself above the guest's RAM (2-MiB multiple). */
export const HOST_MEM_BYTES = 8 << 20;

/** Process exit statuses of hypervisor halts (README): same as bare where the guest's fate is the same. */
export const HV_STATUS = { tripleFault: 6, unsupported: 8, unhandledExit: 14, internal: 70 } as const;

/** Known quirk switches: reproduce historical hypervisor bugs on purpose. */
export const QUIRKS = {
  /** XMHF before 069f2d1b9 (the seed): CR4 mask = CR4_FIXED0, shadow = VMXE, and the CR4 handler ignores the guest's write. */
  'xmhf-cr4-vmxe-shadow': 'CR4 read shadow holds VMXE and the MOV-to-CR4 handler ignores the guest (XMHF before 069f2d1b9)',
} as const;
export type Quirk = keyof typeof QUIRKS;

export interface HypervisorOptions {
  /** Hypapps, in callback order. */
  hypapps?: HypApp[];
  /** Advertise the KVM paravirtual interface (CPUID 40000000H "KVMKVMKVM") and answer KVM hypercalls. */
  kvm?: boolean;
  quirks?: Quirk[];
  /** The hypervisor's console (XMHF prints to serial; here it must not mix with the guest's COM1). */
  log?: (line: string) => void;
}

/** Host GDT selectors. */
const HOST_CS = 0x08, HOST_DS = 0x10, HOST_TR = 0x18;

export class Hypervisor {
  readonly hm: HostMemory;
  readonly hypapps: HypApp[];
  readonly kvm: boolean;
  readonly quirks: ReadonlySet<Quirk>;
  readonly log: (line: string) => void;
  ept!: EptMap;
  readonly vcpus: VCpu[] = [];
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** Hypapps interested in each intercepted port. */
  readonly portOwners = new Map<number, HypApp[]>();
  private launched = false;

  /** The VMX unit of every processor (the bootstrap processor first). */
  readonly units: readonly VmxUnit[];
  /** The bootstrap processor's VMX unit. */
  readonly vmx: VmxUnit;

  constructor(vmx: VmxUnit | readonly VmxUnit[], readonly mem: PhysMem, opts: HypervisorOptions = {}) {
    this.units = Array.isArray(vmx) ? vmx : [vmx as VmxUnit];
    if (this.units.length === 0) throw new Error('a hypervisor needs at least one processor');
    this.vmx = this.units[0];
    this.hypapps = opts.hypapps ?? [];
    this.kvm = opts.kvm ?? false;
    this.quirks = new Set(opts.quirks ?? []);
    this.log = opts.log ?? (() => {});
    if (mem.size - mem.firmwareTop < HOST_MEM_BYTES) {
      throw new Error(`the machine has no room for the hypervisor: create it with hostMemBytes >= ${HOST_MEM_BYTES >>> 20} MiB`);
    }
    this.hm = new HostMemory(mem, mem.firmwareTop, mem.firmwareTop + HOST_MEM_BYTES);
  }

  /** Guest RAM ends here; the hypervisor's memory follows. */
  get guestTop(): number { return this.mem.firmwareTop; }

  /**
   * Take over the processors and start the guest where the boot loader left it (late launch).
   * The bootstrap processor's guest continues from the captured state; every application
   * processor is launched the XMHF way, into the wait-for-SIPI activity state, so the guest's own
   * INIT-SIPI-SIPI starts it (INIT and SIPI exits, exits.ts). Throws (a hypervisor bug) if a VMX
   * instruction fails.
   */
  launch(): void {
    if (this.launched) throw new Error('hypervisor already launched');
    this.launched = true;
    const hm = this.hm;
    const guest = this.vmx.readCurrentState();

    // Check the processor (XMHF: vmx_check_vmx_supported).
    const [, , ecx] = this.vmx.cpuid(1);
    if ((ecx & (1 << 5)) === 0) throw new Error('the processor does not support VMX (CPUID.1:ECX.VMX = 0)');

    // Structures the processors read, in the hypervisor's memory, shared by all vCPUs.
    this.ept = new EptMap(hm, hm.base, hm.end, (pa) => pa < this.guestTop && this.mem.isRamPage(pa), true);
    this.ioBitmapA = hm.allocPages(1, 'I/O bitmap A');
    this.ioBitmapB = hm.allocPages(1, 'I/O bitmap B');
    this.msrBitmap = hm.allocPages(1, 'MSR bitmap');
    this.protectMsrs();

    // The host environment (XMHF's runtime GDT/page tables): flat segments, a TSS per processor,
    // identity paging with 4-MiB pages.
    const gdt = hm.allocPages(1, 'host GDT'), pd = hm.allocPages(1, 'host page directory');
    hm.write32(gdt + HOST_CS, 0x0000ffff); hm.write32(gdt + HOST_CS + 4, 0x00cf9a00); // flat code, DPL 0
    hm.write32(gdt + HOST_DS, 0x0000ffff); hm.write32(gdt + HOST_DS + 4, 0x00cf9200); // flat data, DPL 0
    for (let k = 0; k < 1024; k++) hm.write32(pd + 4 * k, ((k << 22) | 0x83) | 0); // P, RW, PS
    const code = hm.allocPages(1, 'host code');
    this.mem.write(code, 1, 0xf4); // HOST_RIP's page: an HLT the processor never reaches (the handler is TypeScript)
    const gdtLimit = HOST_TR + 8 * this.units.length - 1;

    const quirk = this.quirks.has('xmhf-cr4-vmxe-shadow');
    this.units.forEach((vmx, id) => {
      const tss = hm.allocPages(1, 'host TSS'), stack = hm.allocPages(2, 'host stack');
      const tr = HOST_TR + 8 * id;
      hm.write32(gdt + tr, 0x67 | ((tss & 0xffff) << 16));
      hm.write32(gdt + tr + 4, ((tss >>> 16) & 0xff) | 0x8900 | (tss & 0xff000000));
      vmx.lgdt(gdt, gdtLimit);
      vmx.lidt(0, 0);
      vmx.writeCr(4, CR4.PSE | CR4.VMXE);
      vmx.writeCr(3, pd);
      vmx.writeCr(0, CR0.PE | CR0.MP | CR0.NE | CR0.ET | CR0.WP | CR0.PG);
      vmx.loadSegment(SEG.CS, HOST_CS);
      for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) vmx.loadSegment(s, HOST_DS);
      vmx.loadSegment(SEG.TR, tr);

      // VMXON (IA32_FEATURE_CONTROL first, as firmware would have done).
      const [fc] = vmx.rdmsr(MSR.IA32_FEATURE_CONTROL);
      if ((fc & FEATURE_CONTROL.LOCK) === 0) vmx.wrmsr(MSR.IA32_FEATURE_CONTROL, FEATURE_CONTROL.LOCK | FEATURE_CONTROL.VMX_OUTSIDE_SMX, 0);
      const vmxon = hm.allocPages(1, 'VMXON region');
      hm.write32(vmxon, VMCS_REVISION);
      this.check(vmx.vmxon(vmxon), 'VMXON');

      const vmcs = hm.allocPages(1, 'VMCS');
      hm.write32(vmcs, VMCS_REVISION);
      this.check(vmx.vmclear(vmcs), 'VMCLEAR');
      this.check(vmx.vmptrld(vmcs), 'VMPTRLD');
      const v = new VCpu(id, vmx, vmcs);
      this.vcpus.push(v);

      const ctl = wantedControls(vmx);
      const [cr4Fixed0] = vmx.rdmsr(0x488);
      const cr0Forced = CR0.NE; // with unrestricted guest, NE is the only CR0 bit VMX forces
      const cr4Forced = cr4Fixed0;
      const start = id === 0 ? guest : initState();
      writeControls(vmx, {
        ...ctl, exceptionBitmap: 0, vpid: id + 1, eptp: this.ept.eptp,
        ioBitmapA: this.ioBitmapA, ioBitmapB: this.ioBitmapB, msrBitmap: this.msrBitmap,
        // The guest owns every CR bit but the ones VMX forces; it reads its own values through the shadows.
        cr0Mask: cr0Forced, cr0Shadow: start.cr0,
        cr4Mask: cr4Forced, cr4Shadow: quirk ? cr4Fixed0 : start.cr4,
      });
      writeHostState(vmx, code, stack + 2 * 4096, tss);
      writeGuestState(vmx, start, cr0Forced, cr4Forced);
      if (id !== 0) vmx.write(F.GUEST_ACTIVITY_STATE, ACTIVITY.WAIT_FOR_SIPI);
      vmx.onVmExit(() => this.onExit(v));
    });
    void adjustControls;

    for (const app of this.hypapps) app.onBoot?.(this);
    this.log(`tsvisor: hypervisor launched: ${(this.hm.used / 1024) | 0} KiB of ${HOST_MEM_BYTES >>> 20} MiB used at 0x${this.hm.base.toString(16)}` +
      `${this.units.length > 1 ? `, ${this.units.length} vCPUs` : ''}` +
      `${this.kvm ? ', KVM interface advertised' : ''}${quirk ? ', quirk xmhf-cr4-vmxe-shadow' : ''}${this.hypapps.length ? ', hypapps: ' + this.hypapps.map((a) => a.name).join(' ') : ''}`);
    // Application processors first: they wait for the guest's SIPI; then the bootstrap processor runs.
    for (let k = this.vcpus.length - 1; k >= 0; k--) {
      const v = this.vcpus[k];
      const s = v.vmx.vmlaunch();
      if (s !== 0) { this.entryFailed(v, s, 'VMLAUNCH'); return; }
    }
  }

  /** Each processor's VMX unit (for per-CPU work such as INVEPT on every processor after an EPT change). */
  get allUnits(): readonly VmxUnit[] { return this.units; }

  private check(status: number, what: string): void {
    if (status === 0) return;
    throw new Error(`${what} failed: ${status < 0 ? 'VMfailInvalid' : `VMfailValid(${status} ${VMX_ERROR_NAMES[status] ?? ''})`}`);
  }

  /** MSR bitmap: the VMX capability MSRs and IA32_FEATURE_CONTROL belong to the hypervisor (reads and writes exit). */
  private protectMsrs(): void {
    const mark = (index: number): void => {
      for (const base of [0, 2048]) { // read-low, write-low
        const a = this.msrBitmap + base + (index >>> 3);
        this.mem.write(a, 1, this.mem.read(a, 1) | (1 << (index & 7)));
      }
    };
    mark(MSR.IA32_FEATURE_CONTROL);
    for (let m = 0x480; m <= 0x491; m++) mark(m);
  }

  /** Route guest accesses to `port` (and size-1 following ports) to `app` (XMHF: I/O intercept registration). */
  interceptPort(app: HypApp, port: number, count = 1): void {
    for (let p = port; p < port + count; p++) {
      const list = this.portOwners.get(p) ?? [];
      if (!list.includes(app)) list.push(app);
      this.portOwners.set(p, list);
      const bitmap = p < 0x8000 ? this.ioBitmapA : this.ioBitmapB;
      const a = bitmap + ((p & 0x7fff) >>> 3);
      this.mem.write(a, 1, this.mem.read(a, 1) | (1 << (p & 7)));
    }
  }

  /** The VM-exit handler of vCPU `v`: the code at HOST_RIP (XMHF: xmhf_parteventhub_arch_x86vmx_intercept_handler). */
  private onExit(v: VCpu): void {
    const vmx = v.vmx;
    v.saveGprs();
    const reason = vmx.read(F.VM_EXIT_REASON);
    v.reason = reason & 0xffff;
    v.qualification = vmx.read(F.EXIT_QUALIFICATION);
    v.exits++;
    for (const app of this.hypapps) app.onExit?.(v, v.reason);
    if ((reason & EXIT_REASON_ENTRY_FAILURE) !== 0) {
      const why = lastEntryFailure !== null ? lastEntryFailure.toString() : 'no detail';
      this.halt(v, HV_STATUS.internal, `VM entry failed (exit reason 0x${(reason >>> 0).toString(16)}): ${why}`);
      return;
    }
    if (!dispatchExit(this, v)) return; // halted
    v.restoreGprs();
    const s = vmx.vmresume();
    if (s !== 0) this.entryFailed(v, s, 'VMRESUME');
  }

  private entryFailed(v: VCpu, status: number, what: string): void {
    const detail = lastEntryFailure !== null ? `: ${lastEntryFailure.toString()}` : '';
    this.halt(v, HV_STATUS.internal, `${what} failed: ${status < 0 ? 'VMfailInvalid' : `VMfailValid(${status} ${VMX_ERROR_NAMES[status] ?? ''})`}${detail}`);
  }

  /**
   * Stop the machine with a dump of the guest state and the last exits (the seed's "Unhandled
   * intercept" report, made complete). `status` is the process exit status.
   */
  halt(v: VCpu, status: number, headline: string): void {
    const dump = exitDump(this, v, headline);
    for (const app of this.hypapps) app.onShutdown?.(this, headline);
    v.vmx.haltHost(dump, status);
  }

  /** The run ended for a reason of the guest's (power-off, reset, debug exit): tell the hypapps. */
  shutdown(why: string): void {
    for (const app of this.hypapps) app.onShutdown?.(this, why);
  }
}
