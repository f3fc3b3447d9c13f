// Golden outputs of the debugger's dumps: the page walk (32-bit paging with 4 KiB and 4 MiB pages,
// PAE with 2 MiB pages and XD, EPT), the VMCS dump, the unhandled-exit report and the exit
// qualification decoding. Tables and fields are built by hand here; the expected lines are written
// from the SDM's bit layouts (Vol3A 4.3/4.4 tables, Vol3C 24.4/24.9 and 27.2.1, App. B encodings).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMem } from '../machine/memory.js';
import { Machine } from '../machine/machine.js';
import { formatWalk, type GuestPaging } from '../debug/pagewalk.js';
import { peekEpt } from '../debug/pagewalk.js';
import { formatVmcs, exitReport, arText, intrInfoText } from '../debug/vmcs-dump.js';
import { qualText, formatExits } from '../debug/exit-trace.js';
import { VMCS_FIELDS, F } from '../machine/vmx/vmcs-fields.js';
import { VMCS_REVISION } from '../machine/vmx/capabilities.js';
import { CR0, CR4, EFER, MSR } from '../machine/cpu/arch.js';
import { FEATURE_CONTROL } from '../machine/vmx/vmx-unit.js';
import { EXIT_REASON } from '../machine/vmx/exit-reasons.js';
import { loadIced } from '../debug/disasm.js';

const w32 = (m: PhysMem, a: number, v: number): void => m.write(a, 4, v);
const regs = (cr0: number, cr3: number, cr4: number, efer = 0): GuestPaging['regs'] =>
  ({ cr0, cr3, cr4, efer, pdpteLo: new Int32Array(4), pdpteHi: new Int32Array(4) });

test('walk: 32-bit paging, a 4 KiB page through a page table, a 4 MiB page, a not-present PDE', () => {
  const m = new PhysMem(8 << 20);
  w32(m, 0x10000 + 1 * 4, 0x00011027);   // PDE 1: page table 11000H, P RW US A
  w32(m, 0x11000 + 1 * 4, 0x00234065);   // PTE 1: page 234000H, P US A D
  w32(m, 0x10000 + 3 * 4, 0x00c000e3);   // PDE 3: 4 MiB page at C00000H, P RW A D PS
  const g: GuestPaging = { paging: true, regs: regs(CR0.PE | CR0.PG, 0x10000, CR4.PSE), ept: null, a20: true };
  assert.equal(formatWalk(m, g, 0x00401234), [
    'walk 0x00401234, CR3=0x00010000 (32-bit paging, CR4.PSE=1, CR4.PGE=0, CR0.WP=0)',
    '  PDE      1 @0x00010004  00011027  P RW US A  -> page table 0x00011000',
    '  PTE      1 @0x00011004  00234065  P US A D  -> 4 KiB page 0x00234000',
    '  => physical 0x00234234 (4 KiB page; user, read-only, executable)',
  ].join('\n'));
  assert.equal(formatWalk(m, g, 0x00c12345), [
    'walk 0x00c12345, CR3=0x00010000 (32-bit paging, CR4.PSE=1, CR4.PGE=0, CR0.WP=0)',
    '  PDE      3 @0x0001000c  00c000e3  P RW A D PS  -> 4 MiB page 0x00c00000',
    '  => physical 0x00c12345 (4 MiB page; supervisor, writable, executable)',
  ].join('\n'));
  assert.equal(formatWalk(m, g, 0x00801000), [
    'walk 0x00801000, CR3=0x00010000 (32-bit paging, CR4.PSE=1, CR4.PGE=0, CR0.WP=0)',
    '  PDE      2 @0x00010008  00000000  not present',
    '  => not mapped: an entry is not present (a read at CPL 0 would raise #PF with error code 0x0000)',
  ].join('\n'));
  // The same tables with another CR3: the PDE for 00401234H is then 0 there.
  assert.match(formatWalk(m, g, 0x00401234, 0x20000), /CR3=0x00020000 \(given\)[\s\S]*PDE +1 @0x00020004 {2}00000000 {2}not present/);
});

test('walk: PAE paging with XD (EFER.NXE), a 2 MiB page, the PDPTE registers', () => {
  const m = new PhysMem(8 << 20);
  w32(m, 0x21000 + 0 * 8, 0x00022007);                                // PDE 0: table 22000H, P RW US
  w32(m, 0x22000 + 3 * 8, 0x00345023); w32(m, 0x22000 + 3 * 8 + 4, 0x80000000 | 0); // PTE 3: 345000H, P RW A, XD
  w32(m, 0x21000 + 1 * 8, 0x004000e3);                                // PDE 1: 2 MiB page at 400000H, P RW A D PS
  const r = regs(CR0.PE | CR0.PG | CR0.WP, 0x20000, CR4.PAE, EFER.NXE);
  r.pdpteLo[0] = 0x21001;                                             // as loaded by MOV CR3 (P)
  const g: GuestPaging = { paging: true, regs: r, ept: null, a20: true };
  assert.equal(formatWalk(m, g, 0x00003456), [
    'walk 0x00003456, CR3=0x00020000 (PAE paging, EFER.NXE=1, CR4.PGE=0, CR0.WP=1)',
    '  PDPTE    0 (PDPTE register, loaded from 0x00020000)  0000000000021001  P  -> page directory 0x00021000',
    '  PDE      0 @0x00021000  0000000000022007  P RW US  -> page table 0x00022000',
    '  PTE      3 @0x00022018  8000000000345023  P RW A XD  -> 4 KiB page 0x00345000',
    '  => physical 0x00345456 (4 KiB page; supervisor, writable, execute-disable)',
  ].join('\n'));
  assert.equal(formatWalk(m, g, 0x00201234).split('\n').slice(2).join('\n'), [
    '  PDE      1 @0x00021008  00000000004000e3  P RW A D PS  -> 2 MiB page 0x00400000',
    '  => physical 0x00401234 (2 MiB page; supervisor, writable, executable)',
  ].join('\n'));
  // PDPTE 1 is not present (its register is 0).
  assert.match(formatWalk(m, g, 0x40000000), /PDPTE +1 .* {2}0000000000000000 {2}not present\n {2}=> not mapped/);
});

test('walk: paging off, through EPT (a 2 MiB leaf, write-back)', () => {
  const m = new PhysMem(8 << 20);
  w32(m, 0x30000, 0x31007);               // PML4E 0: R W X -> 31000H
  w32(m, 0x31000, 0x32007);               // PDPTE 0 -> 32000H
  w32(m, 0x32000, 0x00200000 | 0x80 | (6 << 3) | 7); // PDE 0: 2 MiB page at 200000H, WB, R W X
  const ept = peekEpt(m, 0x30000 | 6 | (3 << 3), 0);
  const g: GuestPaging = { paging: false, regs: regs(CR0.PE, 0, 0), ept, a20: true };
  assert.equal(formatWalk(m, g, 0x1234), [
    'walk 0x00001234: paging is off (CR0.PG=0): linear = guest-physical',
    '  EPT PML4E   0 @0x00030000  0000000000031007  R W X',
    '  EPT PDPTE   0 @0x00031000  0000000000032007  R W X',
    '  EPT PDE     0 @0x00032000  00000000002000b7  R W X memtype=WB PS',
    '  => host-physical 0x00201234',
  ].join('\n'));
  assert.equal(m.read(0x32000, 4), 0x2000b7, 'no accessed flag set by the look-up');
});

test('exit qualifications decoded per Vol3C Tables 27-3, 27-4, 27-5, 27-7', () => {
  // MOV to CR4 from ECX: CR 4, access type 0, GPR 1 in bits 11:8.
  assert.equal(qualText(EXIT_REASON.CR_ACCESS, 0x104), 'MOV to CR4 from ECX');
  assert.equal(qualText(EXIT_REASON.CR_ACCESS, 0x713), 'MOV from CR3 to EDI');
  assert.equal(qualText(EXIT_REASON.CR_ACCESS, 0x20), 'CLTS');
  assert.equal(qualText(EXIT_REASON.CR_ACCESS, 0x000b0070), 'LMSW 0x000b (memory operand)');
  assert.equal(qualText(EXIT_REASON.DR_ACCESS, 0x317), 'MOV from DR7 to EBX');
  // OUT DX, AL to 3F8H: size 0 (1 byte), direction 0, DX operand.
  assert.equal(qualText(EXIT_REASON.IO_INSTRUCTION, 0x03f80000), 'OUT byte to port 0x03f8 (DX)');
  // REP INSD from port 60H, immediate? no: string + REP + IN, size 3 (4 bytes), immediate operand bit 6.
  assert.equal(qualText(EXIT_REASON.IO_INSTRUCTION, 0x00600000 | 0x3 | 0x8 | 0x10 | 0x20 | 0x40), 'REP INS dword from port 0x0060 (immediate)');
  assert.equal(qualText(EXIT_REASON.EPT_VIOLATION, 0x182 | 0x8), 'write, EPT permissions R--, access to the translated linear address');
  assert.equal(qualText(EXIT_REASON.EPT_VIOLATION, 0x84), 'fetch, EPT permissions ---, access to a paging-structure entry');
  assert.equal(qualText(EXIT_REASON.CPUID, 0), '');
});

test('access rights and interruption information as the SDM lays them out', () => {
  assert.equal(arText(0xc09b), 'code execute/read accessed, DPL 0, P, D/B, G');
  assert.equal(arText(0x00f3), 'data read/write accessed, DPL 3, P');
  assert.equal(arText(0x008b), 'system TSS32_BUSY, DPL 0, P');
  assert.equal(arText(0x10000), 'unusable');
  // Valid, hardware exception (3), vector 14, error code valid.
  assert.equal(intrInfoText(0x80000b0e, 2), 'valid, hardware exception, vector 14 (#PF), error code 0x0002');
  assert.equal(intrInfoText(0x80000020), 'valid, external interrupt, vector 32');
  assert.equal(intrInfoText(0x20), 'not valid');
});

/** A machine in VMX root operation with a current VMCS at 12000H (VMXON region 11000H). */
function vmxMachine(): Machine {
  const m = new Machine({ memBytes: 16 << 20, onSerial: () => {} });
  const u = m.vmx;
  for (let k = 0; k < 4; k++) w32(m.mem, 0x10000 + 4 * k, (k << 22) | 0x83); // host page directory: 4 MiB identity pages
  u.writeCr(4, CR4.PSE | CR4.VMXE);
  u.writeCr(3, 0x10000);
  u.writeCr(0, CR0.PE | CR0.NE | CR0.ET | CR0.PG);
  u.wrmsr(MSR.IA32_FEATURE_CONTROL, FEATURE_CONTROL.LOCK | FEATURE_CONTROL.VMX_OUTSIDE_SMX, 0);
  w32(m.mem, 0x11000, VMCS_REVISION); w32(m.mem, 0x12000, VMCS_REVISION);
  assert.equal(u.vmxon(0x11000), 0);
  assert.equal(u.vmclear(0x12000), 0);
  assert.equal(u.vmptrld(0x12000), 0);
  return m;
}

test('VMCS dump: every field once, by area, encodings from App. B, decoded values', () => {
  const m = vmxMachine();
  const u = m.vmx;
  const wr = (name: string, v: number): void => assert.equal(u.vmwrite(F[name].encoding, v), 0, name);
  wr('PIN_BASED_VM_EXEC_CONTROL', 0x17);                 // default1 bits 1, 2, 4 + external-interrupt exiting
  wr('CPU_BASED_VM_EXEC_CONTROL', (1 << 7) | (1 << 25) | (1 << 31) | 0x0401e172);
  wr('GUEST_CS_AR_BYTES', 0xc09b);
  wr('GUEST_CS_SELECTOR', 0x08);
  wr('GUEST_RIP', 0x00100010);
  wr('GUEST_INTERRUPTIBILITY_INFO', 1);
  wr('GUEST_ACTIVITY_STATE', 1);
  wr('EPT_POINTER', 0x3001e);                            // PML4 30000H, WB (6), walk length 4 (3 << 3)
  wr('EXCEPTION_BITMAP', (1 << 14) | (1 << 6));
  assert.equal(u.vmwrite(0x2800, 0xffffffff), 0); assert.equal(u.vmwrite(0x2801, 0xffffffff), 0); // VMCS link pointer, both halves
  // Exit information is read-only for VMWRITE: set as a VM exit would.
  const v = u.current!;
  v.set(F.VM_EXIT_REASON, EXIT_REASON.EPT_VIOLATION);
  v.set(F.EXIT_QUALIFICATION, 0x181);                    // read, GLA valid, translated
  v.set(F.VM_EXIT_INTR_INFO, 0x80000b0e); v.set(F.VM_EXIT_INTR_ERROR_CODE, 2);
  const text = formatVmcs(v);
  const lines = text.split('\n');
  assert.equal(lines[0], `VMCS at 0x00012000 (revision 0x${VMCS_REVISION.toString(16).padStart(8, '0')}, clear)`);
  const areas = ['Guest-state area:', 'Host-state area:', 'VM-execution, VM-exit and VM-entry control fields:', 'VM-exit information fields:'];
  const at = areas.map((a) => lines.indexOf(a));
  assert.ok(at.every((k, j) => k > 0 && (j === 0 || k > at[j - 1])), 'areas in order');
  for (const f of VMCS_FIELDS) {
    const hits = lines.filter((l) => l.startsWith(`  ${f.name} `));
    assert.equal(hits.length, 1, `${f.name} once`);
    const k = lines.indexOf(hits[0]);
    const area = f.name.startsWith('GUEST_') && f !== F.GUEST_PHYSICAL_ADDRESS && f !== F.GUEST_LINEAR_ADDRESS || f === F.VMCS_LINK_POINTER || f === F.VMX_PREEMPTION_TIMER_VALUE ? 0
      : f.name.startsWith('HOST_') ? 1 : f.type === 1 ? 3 : 2;
    assert.ok(k > at[area] && (area === 3 || k < at[area + 1]), `${f.name} under ${areas[area]}`);
  }
  const has = (l: string): void => assert.ok(lines.includes(l), `missing line:\n${l}\nin:\n${text}`);
  has('  PIN_BASED_VM_EXEC_CONTROL            4000  0x00000017         EXTERNAL_INTERRUPT_EXITING');
  // 0401E172H (default1: bits 1, 4-6, 8, 13-16, 26) | HLT (7) | USE_IO_BITMAPS (25) | ACTIVATE_SECONDARY_CONTROLS (31).
  has(`  CPU_BASED_VM_EXEC_CONTROL            4002  0x8601e1f2         ${procNames(0x8601e1f2)}`);
  assert.equal(procNames(0x8601e1f2), 'HLT_EXITING CR3_LOAD_EXITING CR3_STORE_EXITING USE_IO_BITMAPS ACTIVATE_SECONDARY_CONTROLS');
  has('  GUEST_CS_SELECTOR                    0802  0x0008');
  has('  GUEST_CS_AR_BYTES                    4816  0x0000c09b         code execute/read accessed, DPL 0, P, D/B, G');
  has('  GUEST_RIP                            681e  0x00100010');
  has('  GUEST_INTERRUPTIBILITY_INFO          4824  0x00000001         BLOCKING_BY_STI');
  has('  GUEST_ACTIVITY_STATE                 4826  0x00000001         HLT');
  has('  VMCS_LINK_POINTER                    2800  0xffffffffffffffff none (all ones)');
  has('  EPT_POINTER                          201a  0x000000000003001e PML4 0x00030000, memtype WB, 4-level walk');
  has('  EXCEPTION_BITMAP                     4004  0x00004040         #UD #PF');
  has('  VM_EXIT_REASON                       4402  0x00000030         EPT_VIOLATION');
  has('  EXIT_QUALIFICATION                   6400  0x00000181         read, EPT permissions ---, access to the translated linear address');
  has('  VM_EXIT_INTR_INFO                    4404  0x80000b0e         valid, hardware exception, vector 14 (#PF), error code 0x0002');
});

/** Names of the primary processor-based controls set in v, in bit order (Vol3C Table 24-6). */
function procNames(v: number): string {
  const table: [number, string][] = [[2, 'INTERRUPT_WINDOW_EXITING'], [3, 'USE_TSC_OFFSETTING'], [7, 'HLT_EXITING'], [9, 'INVLPG_EXITING'],
    [10, 'MWAIT_EXITING'], [11, 'RDPMC_EXITING'], [12, 'RDTSC_EXITING'], [15, 'CR3_LOAD_EXITING'], [16, 'CR3_STORE_EXITING'],
    [17, 'ACTIVATE_TERTIARY_CONTROLS'], [19, 'CR8_LOAD_EXITING'], [20, 'CR8_STORE_EXITING'], [21, 'USE_TPR_SHADOW'],
    [22, 'NMI_WINDOW_EXITING'], [23, 'MOV_DR_EXITING'], [24, 'UNCONDITIONAL_IO_EXITING'], [25, 'USE_IO_BITMAPS'],
    [27, 'MONITOR_TRAP_FLAG'], [28, 'USE_MSR_BITMAPS'], [29, 'MONITOR_EXITING'], [30, 'PAUSE_EXITING'], [31, 'ACTIVATE_SECONDARY_CONTROLS']];
  return table.filter(([b]) => ((v >>> b) & 1) !== 0).map(([, n]) => n).join(' ');
}

test('unhandled-exit report: the exit decoded, guest state from the VMCS, code at CS:EIP, the last exits', async () => {
  await loadIced();
  const m = vmxMachine();
  const u = m.vmx, v = u.current!;
  // Guest: flat 32-bit protected mode, no paging, at 0008:00100010, where `mov eax, [0x400000]` sits.
  m.mem.load(0x100008, Uint8Array.of(0x90, 0x90, 0x31, 0xc0, 0x40, 0x90, 0x90, 0x90, 0xa1, 0x00, 0x00, 0x40, 0x00, 0xf4));
  const set = (n: string, x: number): void => v.set(F[n], x);
  set('GUEST_CR0', CR0.PE | CR0.NE | CR0.ET); set('GUEST_CR4', CR4.VMXE); set('CR4_GUEST_HOST_MASK', CR4.VMXE);
  set('GUEST_CS_SELECTOR', 0x08); set('GUEST_CS_AR_BYTES', 0xc09b); set('GUEST_CS_LIMIT', 0xffffffff);
  set('GUEST_SS_SELECTOR', 0x10); set('GUEST_SS_AR_BYTES', 0xc093); set('GUEST_SS_LIMIT', 0xffffffff);
  set('GUEST_RIP', 0x100010); set('GUEST_RSP', 0x8fff0); set('GUEST_RFLAGS', 0x246);
  set('VM_EXIT_REASON', EXIT_REASON.EPT_VIOLATION); set('EXIT_QUALIFICATION', 0x181);
  set('GUEST_LINEAR_ADDRESS', 0x400000); v.set64(F.GUEST_PHYSICAL_ADDRESS, 0x400000, 0); set('VM_EXIT_INSTRUCTION_LEN', 5);
  m.cpu.r32.set([0x80000011 | 0, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
  u.record(EXIT_REASON.CPUID, 0, 0x100002);
  u.record(EXIT_REASON.IO_INSTRUCTION, 0x03f80000, 0x100005);
  u.record(EXIT_REASON.EPT_VIOLATION, 0x181, 0x100010);
  const text = exitReport(u, m.mem, { headline: 'CPU(0x00): Unhandled intercept' });
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 7), [
    'CPU(0x00): Unhandled intercept',
    'VM exit #3: EPT_VIOLATION (reason 0x00000030), qualification 0x00000181 (read, EPT permissions ---, access to the translated linear address)',
    '  exit interruption: not valid; IDT vectoring: not valid',
    '  instruction length 5, guest-linear 0x00400000, guest-physical 0x000400000',
    '  guest: protected mode, 32-bit code, CPL 0, no paging; CS:EIP 0x0008:0x00100010 (linear 0x00100010); SS:ESP 0x0010:0x0008fff0',
    '  EFLAGS 0x00000246 [PF ZF IF IOPL=0]; activity ACTIVE; interruptibility -',
    '  EAX=0x80000011 ECX=0x00000022 EDX=0x00000033 EBX=0x00000044 ESP=0x0008fff0 EBP=0x00000066 ESI=0x00000077 EDI=0x00000088',
  ]);
  assert.ok(lines.includes('  CR0=0x00000031 CR3=0x00000000 CR4=0x00002000 (the guest reads CR0=0x00000031 CR4=0x00000000)'), text);
  assert.ok(lines.includes('  CS   0x0008 base=0x00000000 limit=0xffffffff ar=0x0c09b code execute/read accessed, DPL 0, P, D/B, G'), text);
  // The code: xor eax, eax (31 C0), inc eax (40), nops, then the faulting A1 imm32 (mov eax, [moffs32]).
  const k = lines.indexOf('  code at CS:EIP (32-bit):');
  assert.ok(k > 0, text);
  assert.deepEqual(lines.slice(k + 1, k + 6), [
    '       0008:0010000d  90               nop',
    '       0008:0010000e  90               nop',
    '       0008:0010000f  90               nop',
    '    => 0008:00100010  a100004000       mov eax, [0x400000]',
    '       0008:00100015  f4               hlt',
  ]);
  assert.ok(lines.some((l) => /^ +1 +0 +CPUID +0x00000000 +0x00100002$/.test(l)), text);
  assert.ok(lines.some((l) => /^ +2 +0 +IO_INSTRUCTION +0x03f80000 +0x00100005 +OUT byte to port 0x03f8 \(DX\)$/.test(l)), text);
  assert.match(formatExits(u, 1), /^last 1 of 3 VM exits/);
});
