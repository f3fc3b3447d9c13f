// Debian's gdb against `tsvisor run --gdb` (cli/gdb-server.ts, debug/gdb-stub.ts): gdb in batch
// mode drives the test guests guests/dbg-target.asm and guests/dbg-triple.asm. Expected addresses
// come from nasm's own symbol map of the guest (an ELF symbol file is built from it for gdb),
// instruction lengths and values from the guest source. Every session ends by letting the guest run
// to its end, and its serial output must equal a run without the debugger.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { guestSymbols, printed, runGdb, runGdbInterrupted, startTsvisor } from './harness/gdb.js';
import { runGuest } from './harness/guest.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = (n: string): string => join(root, 'build', 'guests', `${n}.bin`);
const tmp = mkdtempSync(join(tmpdir(), 'tsvisor-gdbtest-'));

test('gdb is installed (scripts/setup.sh installs it)', () => {
  assert.equal(spawnSync('gdb', ['--version']).status, 0, 'gdb missing: run scripts/setup.sh');
});

const target = guestSymbols('dbg-target');
const sym = (n: string): number => { const v = target.syms.get(n); assert.ok(v !== undefined, `symbol ${n}`); return v; };
const bare = runGuest(new Uint8Array(readFileSync(bin('dbg-target'))), { memMiB: 64 }).serial;

/** Run a gdb session on dbg-target, then check the guest ran to its normal end with the bare run's output. */
async function session(name: string, commands: string[], extra: string[] = []): Promise<string> {
  const serial = join(tmp, `${name}.serial`);
  const t = await startTsvisor(['--kernel', bin('dbg-target'), '--mem', '64', '--gdb-wait', '--serial', `file:${serial}`, ...extra]);
  let r;
  try { r = runGdb(t.port, [...commands, 'delete', 'continue'], { symbols: target.elf }); } finally { setTimeout(() => t.proc.kill(), 30000).unref(); }
  const status = await t.exit;
  assert.match(r.out, /exited with code 01/, `the guest did not run to its end:\n${r.out}\n${t.stderr()}`);
  assert.equal(status, 1, `tsvisor exit status\n${t.stderr()}`);
  assert.equal(readFileSync(serial, 'latin1'), bare, 'serial output differs from the run without the debugger');
  return r.out;
}

/** The guest runs under the hypervisor (the CLI's default), or bare. */
const MODES: [string, string[]][] = [['under the hypervisor', []], ['bare', ['--no-hypervisor']]];

for (const [mode, extra] of MODES) {
test(`${mode}: break at a symbol and an address; registers and memory through PAE paging`, async () => {
  const out = await session(`break-${extra.length}`, [
    'break dbg_paged', 'continue',
    'printf "PC=%x\\n", $pc', 'printf "CR0=%x\\n", $cr0', 'printf "CR3=%x\\n", $cr3', 'printf "CR4=%x\\n", $cr4',
    'printf "MAGIC=%x\\n", *(unsigned int *)0xc0000040',
    'monitor walk 0xc0000040', 'monitor phys 0x300040 4',
    `break *0x${sym('dbg_loop_done').toString(16)}`, 'continue',
    'printf "PC2=%x\\n", $pc', 'printf "ECX=%x\\n", $ecx', 'printf "COUNTER=%x\\n", *(unsigned int *)0xc0000020',
    'set *(unsigned int *)0xc0000020 = 5',
  ], extra);
  const v = printed(out);
  assert.equal(v.get('PC'), sym('dbg_paged'));
  assert.equal((v.get('CR0')! & 0x80000001) >>> 0, 0x80000001, 'CR0.PG and PE');
  assert.equal(v.get('CR3'), 0x200000);
  // CR4 as the processor has it: under the hypervisor VMXE (bit 13) too, which the guest reads as 0 (shadow).
  assert.equal(v.get('CR4'), extra.length ? 0x20 : 0x2020, 'CR4 = PAE (+ VMXE under the hypervisor)');
  assert.equal(v.get('MAGIC'), 0x5ca1ab1e, 'C0000040H read through the 4 KiB alias');
  // The walk: PDPTE 3 -> PD at 202000H, PDE 0 -> PT at 203000H, PTE 0 -> 300000H (the guest's tables).
  assert.match(out, /PDPTE\s+3 .* 0000000000202001 {2}P {2}-> page directory 0x00202000/);
  assert.match(out, /PDE\s+0 @0x00202000 {2}0000000000203003 {2}P RW {2}-> page table 0x00203000/); // not accessed yet
  assert.match(out, /PTE\s+0 @0x00203000 {2}0000000000300003 {2}P RW {2}-> 4 KiB page 0x00300000/);
  assert.match(out, /=> (guest-)?physical 0x00300040 \(4 KiB page; supervisor, writable, executable\)/);
  if (!extra.length) assert.match(out, /=> host-physical 0x00300040/, 'EPT identity map');
  assert.match(out, /000300040 {2}1e ab a1 5c/);
  assert.equal(v.get('PC2'), sym('dbg_loop_done'));
  assert.equal(v.get('ECX'), 0, 'LOOP ran ECX down to 0');
  assert.equal(v.get('COUNTER'), 5);
});

test(`${mode}: hardware watchpoints (write and read) and a hardware breakpoint; the guest keeps its own DR0/DR7`, async () => {
  const out = await session(`watch-${extra.length}`, [
    'break dbg_paged', 'continue', 'delete',
    'rwatch *(int *)0xc0000040', 'watch *(int *)0xc0000020',
    'continue', 'printf "R_PC=%x\\n", $pc',
    'continue', 'printf "W1_PC=%x\\n", $pc', 'printf "DR0=%x\\n", $dr0', 'printf "DR7=%x\\n", $dr7',
    'continue', 'printf "W2_PC=%x\\n", $pc', 'printf "W2_ECX=%x\\n", $ecx',
    'delete', `hbreak *0x${sym('dbg_loop_done').toString(16)}`, 'continue', 'printf "HB_PC=%x\\n", $pc',
  ], extra);
  const v = printed(out);
  // mov eax, [imm32] is A1 imm32 (5 bytes): the read trap is reported after it.
  assert.equal(v.get('R_PC'), sym('dbg_paged') + 5);
  assert.match(out, /Hardware read watchpoint \d+: \*\(int \*\)0xc0000040\s+Value = 1554098974/);
  // inc dword [imm32] is FF 05 imm32 (6 bytes): stops after each increment, before LOOP.
  assert.equal(v.get('W1_PC'), sym('dbg_loop') + 6);
  assert.match(out, /Old value = 0\s+New value = 1/);
  assert.match(out, /Old value = 1\s+New value = 2/);
  assert.equal(v.get('W2_PC'), sym('dbg_loop') + 6);
  assert.equal(v.get('W2_ECX'), 4, 'second increment: LOOP decremented ECX once');
  assert.equal(v.get('DR0'), 0xdeadbeef, "the guest's DR0");
  assert.equal(v.get('DR7'), 0x401, "the guest's DR7");
  assert.match(out, /Hardware assisted breakpoint \d+ at/);
  assert.equal(v.get('HB_PC'), sym('dbg_loop_done'));
});

test(`${mode}: single-step over the switch from real mode to 32-bit protected mode`, async () => {
  const setpe = sym('dbg_rm_setpe_lin');
  const out = await session(`step-${extra.length}`, [
    `break *0x${setpe.toString(16)}`, 'continue',
    'printf "A_PC=%x\\n", $pc', 'printf "A_CS=%x\\n", $cs', 'printf "A_CR0=%x\\n", $cr0',
    'stepi', 'printf "B_PC=%x\\n", $pc', 'printf "B_CS=%x\\n", $cs', 'printf "B_CR0=%x\\n", $cr0', 'printf "B_CSBASE=%x\\n", $cs_base',
    'stepi', 'printf "C_PC=%x\\n", $pc', 'printf "C_CS=%x\\n", $cs', 'printf "C_CSAR=%x\\n", $cs_ar', 'printf "C_CSBASE=%x\\n", $cs_base',
  ], extra);
  const v = printed(out);
  assert.equal(v.get('A_PC'), setpe);
  assert.equal(v.get('A_CS'), 0x1f00);
  assert.equal(v.get('A_CR0')! & 1, 0, 'real mode before MOV CR0');
  assert.equal(v.get('B_PC'), setpe + 3, 'MOV CR0, EAX is 0F 22 C0');
  assert.equal(v.get('B_CS'), 0x1f00, 'CS unchanged until the far jump');
  assert.equal(v.get('B_CSBASE'), 0x1f000);
  assert.equal(v.get('B_CR0')! & 1, 1, 'PE set');
  assert.equal(v.get('C_PC'), sym('pm_back'), 'the far jump lands at pm_back');
  assert.equal(v.get('C_CS'), 0x08, 'CS = T_CODE32');
  assert.equal(v.get('C_CSBASE'), 0);
  assert.equal(v.get('C_CSAR')! & 0x4000, 0x4000, 'CS.D = 1: 32-bit code');
});

test(`${mode}: a breakpoint inside real-mode code: linear PC, CS base, 16-bit disassembly`, async () => {
  const work = sym('dbg_rm_work_lin');
  const xml = join(tmp, 'i8086.xml'), xml32 = join(tmp, 'i386.xml');
  for (const [arch, file] of [['i8086', xml], ['i386', xml32]]) {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'tsvisor.mjs'), 'gdb-xml', arch], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    writeFileSync(file, r.stdout);
  }
  const out = await session(`real-${extra.length}`, [
    `break *0x${work.toString(16)}`, 'continue',
    'printf "PC=%x\\n", $pc', 'printf "CS=%x\\n", $cs', 'printf "EIPOFF=%x\\n", $eip_offset', 'printf "CSBASE=%x\\n", $cs_base',
    'printf "AX=%x\\n", $eax & 0xffff',
    `set tdesc filename ${xml}`, 'x/3i $pc', 'monitor disas', `set tdesc filename ${xml32}`,
  ], extra);
  const v = printed(out);
  assert.equal(v.get('PC'), work, '$pc is the linear address CS.base + IP');
  assert.equal(v.get('CS'), 0x1f00);
  assert.equal(v.get('CSBASE'), 0x1f000);
  assert.equal(v.get('EIPOFF'), work - 0x1f000, 'EIP offset within CS');
  assert.equal(v.get('AX'), 0x1f00, 'AX = CS (mov ax, cs)');
  // rm_work: mov [RM(r_work)], ax is A3 disp16 (3 bytes), xor ax, ax 31 C0 (2), mov cx, 5 B9 imm16.
  const rw = sym('r_work') - sym('rm_blob') + 0x1000;
  const h = (n: number): string => n.toString(16);
  assert.match(out, new RegExp(`=> 0x${h(work)}:\\s+mov\\s+%ax,0x${h(rw)}\\s+0x${h(work + 3)}:\\s+xor\\s+%ax,%ax\\s+0x${h(work + 5)}:\\s+mov\\s+\\$0x5,%cx`));
  assert.match(out, new RegExp(`=> 1f00:${h(work - 0x1f000)}  a3${h(rw & 0xff).padStart(2, '0')}${h(rw >> 8).padStart(2, '0')}\\s+mov \\[0x${h(rw)}\\], ax`));
});

test(`${mode}: attach after a triple fault: the stop reason, registers at the faulting UD2, memory through 2-level paging`, async () => {
  const triple = guestSymbols('dbg-triple');
  const t = await startTsvisor(['--kernel', bin('dbg-triple'), '--mem', '64', '--serial', `file:${join(tmp, `triple-${extra.length}.serial`)}`, ...extra]);
  setTimeout(() => t.proc.kill(), 60000).unref();
  await t.waitFor(/waiting for gdb .* to inspect it/);
  // Bare: the CPU's shutdown. Hypervised: the TRIPLE_FAULT VM exit the hypervisor does not handle.
  assert.match(t.stderr(), extra.length ? /triple-fault: triple fault: #UD → #GP → #GP → #GP/ : /Unhandled intercept: 0x00000002 \(TRIPLE_FAULT\)/);
  const r = runGdb(t.port, [
    'printf "PC=%x\\n", $pc', 'printf "EAX=%x\\n", $eax', 'printf "EBX=%x\\n", $ebx', 'printf "CR3=%x\\n", $cr3',
    'x/s 0x80000080', 'monitor why', 'monitor walk 0x80000080', 'monitor exits 4', 'monitor vmcs', 'continue', 'kill',
  ], { symbols: triple.elf });
  const status = await t.exit;
  const v = printed(r.out);
  assert.equal(v.get('PC'), triple.syms.get('dbg_crash'), 'EIP at the UD2 that started it');
  assert.equal(v.get('EAX'), 0x600df00d);
  assert.equal(v.get('EBX'), 0xb0b0b0b0);
  assert.equal(v.get('CR3'), 0x200000);
  assert.match(r.out, /0x80000080:\s+"loop of faults ends here"/);
  assert.match(r.out, /the machine stopped for good: triple-fault \(exit status 6\)/);
  assert.match(r.out, /PDE\s+512 @0x00200800 {2}00201023 {2}P RW A {2}-> page table 0x00201000/); // A: the guest read through it
  assert.match(r.out, /PTE\s+0 @0x00201000 {2}00310023 {2}P RW A {2}-> 4 KiB page 0x00310000/);
  assert.match(r.out, /=> (guest-)?physical 0x00310080/);
  // continue: the machine cannot; gdb is told why, with SIGSEGV.
  assert.match(r.out, /tsvisor: the machine stopped: triple-fault/);
  assert.match(r.out, /Program received signal SIGSEGV/);
  assert.equal(status, 6, 'the run ends with the triple-fault status once gdb leaves');
  if (extra.length === 0) {
    // The processor is in the host state: gdb shows the guest from the VMCS, whose exit is recorded.
    assert.match(r.out, new RegExp(`TRIPLE_FAULT\\s+0x00000000 {2}0x${triple.syms.get('dbg_crash')!.toString(16).padStart(8, '0')}`));
    assert.match(r.out, /VM_EXIT_REASON\s+4402 {2}0x00000002\s+TRIPLE_FAULT/);
    assert.match(r.out, new RegExp(`GUEST_RIP\\s+681e {2}0x${triple.syms.get('dbg_crash')!.toString(16).padStart(8, '0')}`));
  } else {
    assert.match(r.out, /no VM exits yet/);
    assert.match(r.out, /not in VMX operation/);
  }
});
}

test("under the hypervisor: the seed's scenario — single step over a MOV to CR4 that exits, with and without the seed's quirk", async () => {
  const seed = guestSymbols('vmx-seed-pae');
  const img = new Uint8Array(readFileSync(seed.bin));
  // The MOV CR4, EAX of the real-mode blob: 0F 22 E0 (SDM Vol2 MOV CR: 0F 22 /r, ModRM 11 100 000).
  const blob = seed.syms.get('rm_blob')! - 0x100000, end = seed.syms.get('rm_blob_end')! - 0x100000;
  let at = -1;
  for (let k = blob; k < end - 2; k++) if (img[k] === 0x0f && img[k + 1] === 0x22 && img[k + 2] === 0xe0) { at = k; break; }
  assert.ok(at > 0, 'MOV CR4, EAX in the blob');
  const lin = seed.syms.get('RM_LIN')! + (at - blob);
  for (const quirk of [true, false]) {
    const t = await startTsvisor(['--kernel', bin('vmx-seed-pae'), '--gdb-wait', '--serial', `file:${join(tmp, `seed-${quirk}.serial`)}`,
      ...(quirk ? ['--quirk', 'xmhf-cr4-vmxe-shadow'] : [])]);
    setTimeout(() => t.proc.kill(), 60000).unref();
    const r = runGdb(t.port, [`break *0x${lin.toString(16)}`, 'continue', 'printf "EAX=%x\\n", $eax', 'stepi', 'printf "PC=%x\\n", $pc', 'printf "CR4=%x\\n", $cr4',
      'monitor regs', 'monitor exits 1', 'delete', 'continue', 'monitor walk $pc', 'kill']);
    const status = await t.exit;
    const v = printed(r.out);
    assert.equal(v.get('EAX'), 0x20);
    assert.equal(v.get('PC'), lin + 3, 'one step: past the 3-byte MOV (after the hypervisor handled its exit, if any)');
    if (quirk) {
      // The quirk's CR4 mask owns every CR4_FIXED0 bit and its shadow has VMXE: writing 20H changes an owned bit, so the MOV exits (Vol3C 25.1.3).
      assert.match(r.out, /CR_ACCESS +0x00000004 +0x[0-9a-f]{8} +MOV to CR4 from EAX/);
      // XMHF before its fix: the write is ignored, CR4 keeps only VMXE; paging then walks the PDPT as a page directory.
      assert.equal(v.get('CR4'), 0x2000);
      assert.match(r.out, /Program received signal SIGSEGV/);
      assert.match(r.out, /PTE\s+32 @0x00301080 {2}00000000 {2}not present/);
      assert.equal(status, 6);
    } else {
      // Fixed: the mask owns VMXE only and its shadow is the guest's 0: writing 20H changes no owned bit, no exit.
      assert.match(r.out, /no VM exits yet/);
      assert.equal(v.get('CR4'), 0x2020, 'PAE, and VMXE owned by the hypervisor');
      assert.match(r.out, /the guest reads CR0=[0-9a-f]{8} CR4=00000020/);
      assert.match(r.out, /exited with code 01/);
      assert.equal(status, 1);
    }
  }
});

test('Ctrl-C stops a running guest; gdb patches code (jmp $) and restores it; the guest then ends as without the debugger', async () => {
  const serial = join(tmp, 'ctrlc.serial');
  const t = await startTsvisor(['--kernel', bin('dbg-target'), '--mem', '64', '--gdb-wait', '--serial', `file:${serial}`]);
  setTimeout(() => t.proc.kill(), 60000).unref();
  const a = `0x${sym('dbg_loop_done').toString(16)}`;
  const out = await runGdbInterrupted(t.port, ['break dbg_paged', 'continue', 'delete',
    `set $orig = *(unsigned short *)${a}`, `set *(unsigned short *)${a} = 0xfeeb`, // EB FE: jmp $ (the guest spins)
    'continue', 'printf "PC=%x\\n", $pc', `set *(unsigned short *)${a} = $orig`, 'continue'], 1500, { symbols: target.elf });
  const status = await t.exit;
  assert.match(out, /Program received signal SIGINT, Interrupt\./);
  assert.equal(printed(out).get('PC'), sym('dbg_loop_done'), 'stopped in the jmp $ loop');
  assert.match(out, /exited with code 01/);
  assert.equal(status, 1);
  assert.equal(readFileSync(serial, 'latin1'), bare, 'restored code: the same output');
});

test('under the hypervisor: an unhandled VM exit (EPT violation) stops gdb on the guest instruction, registers from the VMCS', async () => {
  // gdb points the guest's PTE for C0000000H at 4000000H: beyond the guest's 64 MiB, the hypervisor's
  // own memory, which its EPT does not map. The next access through the alias is an EPT violation.
  const t = await startTsvisor(['--kernel', bin('dbg-target'), '--mem', '64', '--gdb-wait', '--serial', `file:${join(tmp, 'ept.serial')}`]);
  setTimeout(() => t.proc.kill(), 60000).unref();
  const r = runGdb(t.port, ['break dbg_paged', 'continue', 'delete', 'set *(unsigned int *)0x203000 = 0x4000003',
    'continue', 'printf "PC=%x\\n", $pc', 'printf "CR4=%x\\n", $cr4', 'printf "EIPOFF=%x\\n", $eip_offset',
    'monitor regs', 'monitor exit', 'monitor walk 0xc0000040', 'kill'], { symbols: target.elf });
  const status = await t.exit;
  const v = printed(r.out);
  assert.match(r.out, /Program received signal SIGABRT/);
  assert.equal(v.get('PC'), sym('dbg_paged'), 'the MOV that read through the alias');
  assert.equal(v.get('EIPOFF'), sym('dbg_paged'));
  assert.equal(v.get('CR4'), 0x2020, 'GUEST_CR4');
  assert.match(r.out, /registers of the guest's state from the current VMCS/);
  // Vol3C Table 27-7: read (bit 0), no EPT permission, guest-linear valid (7) and translated (8) = 181H.
  assert.match(r.out, /VM exit #\d+: EPT_VIOLATION \(reason 0x00000030\), qualification 0x00000181 \(read, EPT permissions ---, access to the translated linear address\)/);
  assert.match(r.out, /guest-linear 0xc0000040, guest-physical 0x004000040/);
  assert.match(r.out, /EAX=0x80000011 /, 'EAX = CR0 as the guest read it last (mov eax, cr0; or eax, 80000000H)');
  assert.match(r.out, /=> guest-physical 0x04000040[\s\S]*=> EPT violation/);
  assert.equal(status, 14, 'unhandled VM exit');
  assert.match(t.stderr(), /Unhandled intercept: 0x00000030 \(EPT_VIOLATION\)/);
});
