// Instruction VM exits and the non-exiting behaviour of sensitive instructions in VMX non-root
// operation (Intel SDM Vol3C 25.1-25.3), with the exit qualifications of Vol3C 27.2.1 (Tables 27-1,
// 27-3 CR access, 27-4 MOV DR, 27-5 I/O), the VM-exit instruction length (27.2.5) and
// VM-exit instruction information (27.2.5: INS/OUTS, descriptor-table and VMX instructions), and the
// saved guest RIP (the instruction itself for instruction exits, Vol3C 27.3.3). Expected values are
// written out from those tables; guests are tiny nasm snippets with the exiting instruction at a
// known offset (`at(n)` pads with NOPs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../machine/vmx/vmcs-fields.js';
import { Rig, type Exit, type RigOptions, P, P2, R, EXIT_C, ENTRY_C, GUEST_CODE, GUEST_DATA, HANDLERS, TSS, IO_A, IO_B, MSR_BITMAP, MSR_AREA, VMCS, AR_CODE, AR_DATA, hex } from './harness/vmx.js';
import { makeCpu, poke, setupFlat32 } from './harness/cpu.js';

const at = (off: number): string => `times ${off}-($-$$) nop`;
/** Run `code` under `opts` (+ `setup`), resuming after every exit but the HLT one (skip the instruction). */
function exitsOf(code: string, opts: RigOptions = {}, setup?: (r: Rig) => void, budget = 100_000): { r: Rig; x: Exit[] } {
  const r = new Rig({ code, ...opts });
  setup?.(r);
  r.onExit = (e, rig) => e.reason !== R.HLT && rig.skip(e);
  r.launch();
  r.run(budget);
  return { r, x: r.exits };
}
/** The exits other than the final HLT, as [reason, RIP offset, qualification, length]. */
const summary = (x: Exit[]): number[][] => x.filter((e) => e.reason !== R.HLT).map((e) => [e.reason, e.rip - GUEST_CODE, e.qual, e.len]);
const setBit = (r: Rig, base: number, bit: number): void => { const a = base + (bit >>> 3); r.wr(a, 1, r.rd(a, 1) | (1 << (bit & 7))); };

// ------------------------------------------------------------------ CR access (Table 27-3: CR 3:0, type 5:4, LMSW op 6, GPR 11:8, LMSW data 31:16)

test('MOV to CR0/CR4 exit when an owned bit differs from the read shadow: qualification = CR | type 0 | GPR', () => {
  const { x } = exitsOf(`mov ebx, cr0\nor ebx, 8\n${at(0x10)}\nmov cr0, ebx\nmov esi, 0x2090\n${at(0x20)}\nmov cr4, esi\nhlt`, {}, (r) => {
    r.w(F.CR0_GUEST_HOST_MASK, 8); r.w(F.CR0_READ_SHADOW, 0);       // TS owned, shadow 0
    r.w(F.CR4_GUEST_HOST_MASK, 0x80); r.w(F.CR4_READ_SHADOW, 0);    // PGE owned, shadow 0
  });
  // mov cr0, ebx = 0F 22 C3; mov cr4, esi = 0F 22 E6.
  assert.deepEqual(summary(x), [[R.CR, 0x10, 0x300, 3], [R.CR, 0x20, 0x604, 3]]);
  assert.equal(x[x.length - 1].f.GUEST_CR0 & 8, 0, 'the exiting MOV did not change CR0.TS');
});

test('MOV to CR0 matching the shadow does not exit and leaves owned bits unchanged; unowned bits change', () => {
  // Real CR0.MP = 1; MP and NE owned with shadow MP = 0, NE = 1. The guest writes MP = 0, EM = 1.
  const { x } = exitsOf('mov eax, 0x80000035\nmov cr0, eax\nmov ebx, cr0\nhlt', {}, (r) => {
    r.w(F.GUEST_CR0, 0x80000033); r.w(F.CR0_GUEST_HOST_MASK, 0x22); r.w(F.CR0_READ_SHADOW, 0x20);
  });
  assert.equal(x.length, 1);
  assert.equal(x[0].reason, R.HLT);
  assert.equal(x[0].f.GUEST_CR0 >>> 0, 0x80000037, 'MP (owned) kept its value 1, EM (not owned) set');
  assert.equal(x[0].gprs[3], 0x80000035, 'the guest reads MP from the shadow (0)');
});

test('MOV to CR4 matching the shadow keeps CR4.VMXE; CR0/CR4 reads and SMSW see the shadows (Vol3C 25.3)', () => {
  const { x } = exitsOf('mov eax, 0x90\nmov cr4, eax\nmov ebx, cr4\nmov ecx, cr0\nxor edx, edx\nsmsw dx\nhlt', {}, (r) => {
    r.w(F.CR4_GUEST_HOST_MASK, 0x2000); r.w(F.CR4_READ_SHADOW, 0);
    r.w(F.CR0_GUEST_HOST_MASK, 0x28); r.w(F.CR0_READ_SHADOW, 8); // NE, TS owned; the guest sees NE = 0, TS = 1
  });
  assert.equal(x.length, 1);
  assert.equal(x[0].f.GUEST_CR4, 0x2090, 'VMXE (owned) stays 1, PGE set');
  assert.equal(x[0].gprs[3], 0x90, 'CR4 read: VMXE from the shadow');
  assert.equal(x[0].gprs[1], 0x80000019, 'CR0 read: NE = 0, TS = 1 from the shadow');
  assert.equal(x[0].gprs[2], 0x0019, 'SMSW: low 16 bits of the same view');
});

test('MOV to CR0 that does not exit but clears CR0.NE (fixed to 1 in VMX operation) is #GP(0)', () => {
  const { x } = exitsOf('mov eax, 0x80000011\nmov cr0, eax\nhlt');
  assert.equal(x.length, 1);
  assert.equal(x[0].rip, HANDLERS + 13 * 16, '#GP delivered through the guest IDT');
});

test('CR3-load exiting: values in the first CR3-target-count targets do not exit; MOV from CR3 with CR3-store exiting', () => {
  const { x } = exitsOf(`mov eax, 0x13000\n${at(0x10)}\nmov cr3, eax\nmov ecx, 0x17000\n${at(0x20)}\nmov cr3, ecx\nmov edx, 0x18000\n${at(0x30)}\nmov cr3, edx\n${at(0x40)}\nmov edi, cr3\nhlt`,
    { proc: P.CR3_LOAD | P.CR3_STORE }, (r) => {
      for (let k = 0; k < 4096; k += 4) r.wr(0x17000 + k, 4, r.rd(0x13000 + k)); // a second page directory
      r.w(F.CR3_TARGET_COUNT, 2); r.w(F.CR3_TARGET_VALUE0, 0x17000); r.w(F.CR3_TARGET_VALUE1, 0x13000); r.w(F.CR3_TARGET_VALUE2, 0x18000);
    });
  // 0x13000, 0x17000 are targets 1 and 0; 0x18000 is target 2 >= count: exit. mov cr3, edx = 0F 22 DA; mov edi, cr3 = 0F 20 DF.
  assert.deepEqual(summary(x), [[R.CR, 0x30, 0x203, 3], [R.CR, 0x40, 0x713, 3]]);
  const none = exitsOf('mov eax, 0x13000\nmov cr3, eax\nhlt', { proc: P.CR3_LOAD });
  assert.deepEqual(summary(none.x), [[R.CR, 5, 0x003, 3]], 'with CR3-target count 0 every MOV to CR3 exits');
});

test('CLTS: exits if TS is owned and the shadow has TS = 1; owned with shadow 0 it does not change CR0.TS', () => {
  const a = exitsOf('clts\nhlt', {}, (r) => { r.w(F.CR0_GUEST_HOST_MASK, 8); r.w(F.CR0_READ_SHADOW, 8); });
  assert.deepEqual(summary(a.x), [[R.CR, 0, 0x20, 2]], 'qualification: access type 2, CR 0, no GPR');
  const b = exitsOf('clts\nhlt', {}, (r) => { r.w(F.GUEST_CR0, 0x80000039); r.w(F.CR0_GUEST_HOST_MASK, 8); r.w(F.CR0_READ_SHADOW, 0); });
  assert.equal(b.x.length, 1);
  assert.equal(b.x[0].f.GUEST_CR0 & 8, 8, 'CR0.TS unchanged');
  const c = exitsOf('clts\nhlt', {}, (r) => r.w(F.GUEST_CR0, 0x80000039));
  assert.equal(c.x[0].f.GUEST_CR0 & 8, 0, 'not owned: CLTS clears TS');
});

test('LMSW: register and memory forms (qualification bit 6, source data 31:16, guest-linear address), the PE rule', () => {
  const mask = (r: Rig): void => { r.w(F.CR0_GUEST_HOST_MASK, 0xe); r.w(F.CR0_READ_SHADOW, 0); };
  const reg = exitsOf('mov ax, 0x0002\nlmsw ax\nhlt', {}, mask);
  // mov ax, imm16 = 66 B8 iw (4 bytes); lmsw ax = 0F 01 F0.
  assert.deepEqual(summary(reg.x), [[R.CR, 4, 0x00020030, 3]]);
  const mem = exitsOf(`${at(0)}\nlmsw [0x9000]\nhlt`, {}, (r) => { mask(r); r.wr(GUEST_DATA, 2, 0xfff4); });
  assert.deepEqual(summary(mem.x), [[R.CR, 0, 0xfff40070, 7]], 'memory operand: bit 6; lmsw [disp32] = 0F 01 35 d32');
  assert.equal(mem.x[0].gla, GUEST_DATA, 'guest-linear address of the LMSW operand');
  // PE owned, shadow PE = 0: source PE = 0 does not exit (LMSW cannot clear PE), source PE = 1 does.
  const pe = exitsOf(`xor eax, eax\n${at(0x10)}\nlmsw ax\nmov ax, 1\n${at(0x20)}\nlmsw ax\nhlt`, {}, (r) => { r.w(F.CR0_GUEST_HOST_MASK, 1); r.w(F.CR0_READ_SHADOW, 0); });
  assert.deepEqual(summary(pe.x), [[R.CR, 0x20, 0x00010030, 3]]);
  assert.equal(pe.x[pe.x.length - 1].f.GUEST_CR0 & 1, 1, 'CR0.PE still 1');
});

// ------------------------------------------------------------------ MOV DR (Table 27-4: DR 2:0, direction 4, GPR 11:8)

test('MOV DR exits with "MOV-DR exiting": register, direction; they outrank #GP (CPL 3) and #UD (DR4 with CR4.DE)', () => {
  const { x } = exitsOf(`mov dr7, ecx\n${at(0x10)}\nmov edx, dr6\nhlt`, { proc: P.MOV_DR });
  assert.deepEqual(summary(x), [[R.DR, 0, 0x107, 3], [R.DR, 0x10, 0x216, 3]]);
  const de = exitsOf('mov eax, dr4\nhlt', { proc: P.MOV_DR }, (r) => r.w(F.GUEST_CR4, 0x2018));
  assert.deepEqual(summary(de.x), [[R.DR, 0, 0x014, 3]], 'DR4 with CR4.DE: exit, not #UD (Vol3C 25.1.3)');
  const ring3 = exitsOf('mov eax, dr0\nhlt', { proc: P.MOV_DR }, (r) => { r.seg('CS', 0x23, 0, 0xffffffff, AR_CODE | 0x60); r.seg('SS', 0x2b, 0, 0xffffffff, AR_DATA | 0x60); });
  assert.deepEqual(summary(ring3.x), [[R.DR, 0, 0x010, 3]], 'CPL 3: exit, not #GP');
  const noexit = exitsOf('mov eax, dr4\nhlt', {}, (r) => r.w(F.GUEST_CR4, 0x2018));
  assert.equal(noexit.x[0].rip, HANDLERS + 6 * 16, 'without MOV-DR exiting: #UD');
});

// ------------------------------------------------------------------ I/O (Table 27-5: size 2:0, IN 3, string 4, REP 5, imm 6, port 31:16)

test('I/O exits with "unconditional I/O exiting": qualification for IN/OUT imm8 and DX forms, sizes 1/2/4', () => {
  const code = [
    `${at(0x00)}\nout 0x80, al`, `${at(0x10)}\nin ax, 0x71`, 'mov dx, 0x3f8', `${at(0x20)}\nin eax, dx`, `${at(0x30)}\nout dx, ax`, `${at(0x40)}\nin al, dx`, 'hlt',
  ].join('\n');
  const { x } = exitsOf(code, { proc: P.UNCOND_IO });
  assert.deepEqual(summary(x), [
    [R.IO, 0x00, 0x00800040, 2],            // OUT imm8, 1 byte
    [R.IO, 0x10, 0x00710049, 3],            // IN AX, imm8: 66 E5 71
    [R.IO, 0x20, 0x03f8000b, 1],            // IN EAX, DX: size 3 (4 bytes), IN
    [R.IO, 0x30, 0x03f80001, 2],            // OUT DX, AX: 66 EF
    [R.IO, 0x40, 0x03f80008, 1],            // IN AL, DX
  ]);
});

test('INS/OUTS exits: string and REP bits, guest-linear address of the memory operand, instruction information (27.2.5)', () => {
  const code = `mov dx, 0x3f8\nmov esi, 0x9010\nmov edi, 0x9020\nmov ecx, 3\n${at(0x20)}\nrep outsb\n${at(0x30)}\ninsd\n${at(0x40)}\nfs outsw\n${at(0x50)}\na16 rep insb\nhlt`;
  const { x } = exitsOf(code, { proc: P.UNCOND_IO }, (r) => r.w(F.GUEST_FS_BASE, 0x100));
  assert.deepEqual(summary(x), [
    [R.IO, 0x20, 0x03f80030, 2],  // REP OUTSB: string | REP, 1 byte
    [R.IO, 0x30, 0x03f8001b, 1],  // INSD: IN | string, 4 bytes
    [R.IO, 0x40, 0x03f80011, 3],  // FS OUTSW: 64 66 6F
    [R.IO, 0x50, 0x03f80038, 3],  // A16 REP INSB: 67 F3 6C
  ]);
  // Guest-linear addresses: DS:ESI, ES:EDI, FS:ESI (FS base 100H), ES:DI (16-bit address).
  assert.deepEqual(x.slice(0, 4).map((e) => e.gla), [0x9010, 0x9020, 0x9110, 0x9020]);
  // Instruction information (Table 27-9): address size in 9:7 (0 = 16-bit, 1 = 32-bit), segment in 17:15 (ES 0, DS 3, FS 4).
  assert.deepEqual(x.slice(0, 4).map((e) => e.instrInfo & 0x38380), [(1 << 7) | (3 << 15), 1 << 7, (1 << 7) | (4 << 15), 0]);
  assert.equal(x[0].gprs[1], 3, 'the exiting REP OUTS did no iteration (ECX unchanged)');
});

test('I/O bitmaps: bit per port in A (0-7FFFH) and B (8000H-FFFFH), every byte of a multi-byte access, wrap past FFFFH; unconditional exiting ignored', () => {
  const code = [
    'mov dx, 0x3f8', `${at(0x10)}\nin al, dx`, `${at(0x20)}\nin ax, dx`,
    'mov dx, 0x8001', `${at(0x30)}\nin al, dx`, `${at(0x40)}\nout dx, al`,
    'mov dx, 0xfffe', `${at(0x50)}\nin ax, dx`, `${at(0x60)}\nin eax, dx`,
    'mov dx, 0xffff', `${at(0x70)}\nin al, dx`, `${at(0x80)}\nin ax, dx`,
    'mov dx, 0x7fff', `${at(0x90)}\nin al, dx`, `${at(0xa0)}\nin ax, dx`,
    'hlt',
  ].join('\n');
  const { x } = exitsOf(code, { proc: P.IO_BITMAPS | P.UNCOND_IO }, (r) => {
    setBit(r, IO_A, 0x3f9);           // port 3F9H only
    setBit(r, IO_B, 0x8001 - 0x8000); // port 8001H
    setBit(r, IO_B, 0xffff - 0x8000); // port FFFFH
  });
  // 3F8 (1 byte): clear → no exit; 3F8-3F9: exit. 8001: exit both ways. FFFE-FFFF: FFFF set → exit;
  // FFFE-10001 wraps → exit. FFFF alone: set → exit; FFFF-0000 wraps → exit. 7FFF alone: clear; 7FFF-8000 clear.
  assert.deepEqual(summary(x).map((s) => s[1]), [0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80]);
  const wrap = exitsOf(`mov dx, 0xffff\n${at(0x10)}\nin ax, dx\n${at(0x20)}\nin al, dx\nhlt`, { proc: P.IO_BITMAPS });
  assert.deepEqual(summary(wrap.x), [[R.IO, 0x10, 0xffff0009, 2]], 'an access wrapping past FFFFH exits even with clear bitmaps');
});

test('I/O permission #GP (CPL > IOPL, port denied by the TSS) has priority over the I/O exit (Vol3C 25.1.1)', () => {
  const { x } = exitsOf('out 0x80, al\nhlt', { proc: P.UNCOND_IO }, (r) => {
    r.seg('CS', 0x23, 0, 0xffffffff, AR_CODE | 0x60); r.seg('SS', 0x2b, 0, 0xffffffff, AR_DATA | 0x60);
    r.wr(TSS + 0x66, 2, 0x68); // I/O map base beyond the TSS limit: every port denied
  });
  assert.equal(x.length, 1);
  assert.equal(x[0].rip, HANDLERS + 13 * 16);
});

// ------------------------------------------------------------------ MSRs (Vol3C 24.6.9: read low 0, read high 1024, write low 2048, write high 3072)

test('MSR bitmaps: bit positions in the four quarters, MSRs outside both ranges always exit', () => {
  const code = [
    'mov ecx, 0x174', `${at(0x10)}\nrdmsr`, `${at(0x20)}\nwrmsr`,
    'mov ecx, 0xc0000080', `${at(0x30)}\nrdmsr`, `${at(0x40)}\nwrmsr`,
    'mov ecx, 0x40000000', `${at(0x50)}\nrdmsr`, 'mov ecx, 0xc0002000', `${at(0x60)}\nrdmsr`, 'mov ecx, 0x2000', `${at(0x70)}\nwrmsr`,
    'hlt',
  ].join('\n');
  const { x } = exitsOf(code, { proc: P.MSR_BITMAPS }, (r) => {
    setBit(r, MSR_BITMAP, 0x173); setBit(r, MSR_BITMAP, 0x175);     // read-low neighbours of 174H
    setBit(r, MSR_BITMAP + 2048, 0x174);                            // write-low 174H
    setBit(r, MSR_BITMAP + 1024, 0x80);                             // read-high C0000080H
  });
  assert.deepEqual(summary(x), [[R.WRMSR, 0x20, 0, 2], [R.RDMSR, 0x30, 0, 2], [R.RDMSR, 0x50, 0, 2], [R.RDMSR, 0x60, 0, 2], [R.WRMSR, 0x70, 0, 2]]);
  const all = exitsOf(`mov ecx, 0x174\n${at(0x10)}\nrdmsr\nhlt`);
  assert.deepEqual(summary(all.x), [[R.RDMSR, 0x10, 0, 2]], 'without MSR bitmaps every RDMSR exits');
});

// ------------------------------------------------------------------ other instruction exits

test('unconditional exits: CPUID (10), INVD (13); conditional: HLT (12), INVLPG (14, linear address), RDTSC (16), RDPMC (15), PAUSE (40), WBINVD (54)', () => {
  const code = [
    `${at(0x00)}\ncpuid`, `${at(0x10)}\ninvd`, 'mov ebx, 0x5000', `${at(0x20)}\ninvlpg [ebx+0x10]`, `${at(0x30)}\nrdtsc`,
    `${at(0x40)}\nrdpmc`, `${at(0x50)}\npause`, `${at(0x60)}\nwbinvd`, `${at(0x70)}\nhlt`,
  ].join('\n');
  const { x } = exitsOf(code, { proc: P.INVLPG | P.RDTSC | P.RDPMC | P.PAUSE, proc2: P2.WBINVD });
  assert.deepEqual(summary(x), [
    [R.CPUID, 0x00, 0, 2], [R.INVD, 0x10, 0, 2], [R.INVLPG, 0x20, 0x5010, 4], [R.RDTSC, 0x30, 0, 2],
    [R.RDPMC, 0x40, 0, 2], [R.PAUSE, 0x50, 0, 2], [R.WBINVD, 0x60, 0, 2],
  ]);
  const hlt = x[x.length - 1];
  assert.deepEqual([hlt.reason, hlt.rip - GUEST_CODE, hlt.len, hlt.activity], [R.HLT, 0x70, 1, 0], 'HLT exit: RIP of the HLT, active state');
});

test('MONITOR/MWAIT: #UD (CPUID.MONITOR = 0) outranks "MONITOR exiting"/"MWAIT exiting"', () => {
  const { x } = exitsOf('monitor\nhlt', { proc: P.MONITOR | P.MWAIT });
  assert.equal(x[0].rip, HANDLERS + 6 * 16);
});

test('RDTSC with TSC offsetting returns TSC + offset (two\'s complement); without the control the offset is ignored', () => {
  const run = (proc: number, lo: number, hi: number): { r: Rig; tsc: number; t0: number } => {
    const r = new Rig({ code: 'rdtsc\nhlt', proc });
    r.vmx.wrmsr(0x10, 1_000_000, 0); // IA32_TIME_STAMP_COUNTER = 10^6
    r.vmx.vmwrite(F.TSC_OFFSET.encoding, lo); r.vmx.vmwrite(F.TSC_OFFSET.encoding | 1, hi);
    const t0 = r.m.clock.nowNs() + r.m.cpu.tscOffset;
    r.go();
    const e = r.exits[0];
    return { r, tsc: e.gprs[2] * 2 ** 32 + e.gprs[0], t0 };
  };
  const a = run(P.TSC_OFFSET, 0, 0x100);
  assert.ok(a.tsc - 2 ** 40 >= a.t0 && a.tsc - 2 ** 40 <= a.t0 + 10, `TSC ${a.tsc}, launch at ${a.t0}`);
  const b = run(P.TSC_OFFSET, -50, -1); // -50 as a 64-bit two's complement value
  assert.ok(b.tsc + 50 >= b.t0 && b.tsc + 50 <= b.t0 + 10, `TSC ${b.tsc}, launch at ${b.t0}`);
  const c = run(0, 0, 0x100);
  assert.ok(c.tsc >= c.t0 && c.tsc <= c.t0 + 10, 'offset ignored without "use TSC offsetting"');
});

test('descriptor-table exiting: LGDT/LIDT/SGDT/SIDT (46) and LLDT/LTR/SLDT/STR (47) with displacement and instruction information', () => {
  const code = [
    'mov ebx, 0x9000', 'mov esi, 4', `${at(0x10)}\nsgdt [ebx+esi*4+0x10]`, `${at(0x20)}\nlidt [0x9000]`,
    `${at(0x30)}\nsldt eax`, `${at(0x40)}\nltr [ebx]`, `${at(0x50)}\nstr cx`, 'hlt',
  ].join('\n');
  const { x } = exitsOf(code, { proc2: P2.DESC_TABLE });
  assert.deepEqual(summary(x), [
    [R.GDTR_IDTR, 0x10, 0x10, 5], [R.GDTR_IDTR, 0x20, 0x9000, 7], [R.LDTR_TR, 0x30, 0, 3], [R.LDTR_TR, 0x40, 0, 3], [R.LDTR_TR, 0x50, 0, 4],
  ]);
  // Table 27-11 (SGDT..LIDT): scale 1:0, address size 9:7, operand size 11, segment 17:15, index 21:18 (invalid 22),
  // base 26:23 (invalid 27), identity 29:28 (0 SGDT, 1 SIDT, 2 LGDT, 3 LIDT).
  const defined11 = 0x3fff8b83;
  assert.equal(x[0].instrInfo & defined11, 2 | (1 << 7) | (1 << 11) | (3 << 15) | (6 << 18) | (3 << 23) | (0 << 28));
  assert.equal(x[1].instrInfo & defined11, (1 << 7) | (1 << 11) | (3 << 15) | (1 << 22) | (1 << 27) | (3 << 28));
  // Table 27-12 (SLDT..LTR): Reg1 6:3 and bit 10 = register; identity 0 SLDT, 1 STR, 2 LLDT, 3 LTR.
  const defined12mem = 0x3fff8783; // Reg1 (6:3) is undefined for a memory operand
  assert.equal(x[2].instrInfo & (1 << 10 | 0x78 | 3 << 28), (1 << 10) | (0 << 3) | (0 << 28));
  assert.equal(x[3].instrInfo & defined12mem, (1 << 7) | (3 << 15) | (1 << 22) | (3 << 23) | (3 << 28));
  assert.equal(x[4].instrInfo & (1 << 10 | 0x78 | 3 << 28), (1 << 10) | (1 << 3) | (1 << 28));
});

// ------------------------------------------------------------------ VMX instructions in VMX non-root operation (25.1.2)

test('VMX instructions exit with their reasons, length, displacement and instruction information (Table 27-13/27-14)', () => {
  const code = [
    `${at(0x00)}\nvmcall`, 'mov eax, 0x9000', `${at(0x10)}\nvmclear [eax]`, `${at(0x20)}\nvmlaunch`, `${at(0x30)}\nvmptrld [eax+8]`,
    `${at(0x40)}\nvmptrst [0x9000]`, `${at(0x50)}\nvmread eax, ebx`, 'mov ecx, 0x9000', `${at(0x60)}\nvmwrite ebx, [ecx+8]`, `${at(0x70)}\nvmresume`,
    `${at(0x80)}\nvmxoff`, `${at(0x90)}\nvmxon [eax]`, 'hlt',
  ].join('\n');
  const { x } = exitsOf(code);
  assert.deepEqual(summary(x), [
    [R.VMCALL, 0x00, 0, 3], [R.VMCLEAR, 0x10, 0, 4], [R.VMLAUNCH, 0x20, 0, 3], [R.VMPTRLD, 0x30, 8, 4],
    [R.VMPTRST, 0x40, 0x9000, 7], [R.VMREAD, 0x50, 0, 3], [R.VMWRITE, 0x60, 8, 4], [R.VMRESUME, 0x70, 0, 3],
    [R.VMXOFF, 0x80, 0, 3], [R.VMXON, 0x90, 0, 4],
  ]);
  // VMCLEAR [eax]: memory, 32-bit address, DS, no index, base EAX.
  const defined = 0x0fff8783; // bits 1:0, 9:7, 10, 17:15, 21:18, 22, 26:23, 27
  assert.equal(x[1].instrInfo & defined, (1 << 7) | (3 << 15) | (1 << 22) | (0 << 23));
  // VMREAD eax, ebx: register form, Reg1 = EAX (destination), Reg2 = EBX (encoding).
  assert.equal(x[5].instrInfo & ((1 << 10) | 0x78 | (0xf << 28)), (1 << 10) | (0 << 3) | (3 << 28) | 0);
  // VMWRITE ebx, [ecx+8]: memory, base ECX, Reg2 = EBX.
  assert.equal(x[6].instrInfo & ((1 << 10) | (0x1f << 23) | (1 << 22) | (0xf << 28)), (1 << 22) | (1 << 23) | (3 << 28));
});

test('VMCALL outside VMX non-root operation is #UD (SDM Vol2 VMCALL)', () => {
  const b = makeCpu();
  setupFlat32(b.cpu, 0x1000);
  poke(b, 0x1000, [0x0f, 0x01, 0xc1]);
  const events: number[] = [];
  b.cpu.hooks.onEvent = (v) => { events.push(v); };
  b.cpu.run(b.clock.insns + 1);
  assert.equal(events[0], 6);
  assert.equal(b.cpu.nonRoot, null);
});

test('VMX instructions other than VMCALL are #UD in virtual-8086 mode even in VMX non-root operation', () => {
  const r = new Rig();
  r.w(F.GUEST_RFLAGS, 0x20002);
  for (const s of ['CS', 'SS', 'DS', 'ES', 'FS', 'GS']) r.seg(s, 0x100, 0x1000, 0xffff, 0xf3);
  r.w(F.GUEST_RIP, 0); r.w(F.GUEST_RSP, 0x7000);
  r.code(new Uint8Array([0x0f, 0x01, 0xc4])); // VMXOFF
  const e = r.go();
  assert.equal(e.rip, HANDLERS + 6 * 16, '#UD delivered (then the handler HLT exits)');
  const r2 = new Rig();
  r2.w(F.GUEST_RFLAGS, 0x20002);
  for (const s of ['CS', 'SS', 'DS', 'ES', 'FS', 'GS']) r2.seg(s, 0x100, 0x1000, 0xffff, 0xf3);
  r2.w(F.GUEST_RIP, 0); r2.w(F.GUEST_RSP, 0x7000);
  r2.code(new Uint8Array([0x0f, 0x01, 0xc1])); // VMCALL
  assert.equal(r2.go().reason, R.VMCALL, 'VMCALL exits in any mode');
});

// ------------------------------------------------------------------ task switches (25.1.2, Table 27-2: selector 15:0, source 31:30)

test('task switches always exit: CALL/JMP to a TSS or task gate, IRET with NT (selector and source in the qualification)', () => {
  const tss = (r: Rig): void => {
    r.wr(0x10030, 4, 0x67 | ((0x30000 & 0xffff) << 16)); r.wr(0x10034, 4, 0x8903); // 30H: available 32-bit TSS at 30000H
    r.wr(0x10038, 4, 0x30 << 16); r.wr(0x1003c, 4, 0x8500);                          // 38H: task gate → 30H
    r.w(F.GUEST_GDTR_LIMIT, 0x3f);
  };
  const call = exitsOf(`${at(0)}\ncall 0x30:0\nhlt`, {}, tss);
  assert.deepEqual(summary(call.x), [[R.TASK_SWITCH, 0, 0x30 | (0 << 30), 7]]);
  const jmp = exitsOf(`${at(0)}\njmp 0x38:0\nhlt`, {}, tss);
  assert.deepEqual(summary(jmp.x), [[R.TASK_SWITCH, 0, (0x30 | (2 << 30)) >>> 0, 7]], 'JMP through a task gate: the TSS selector, source 2');
  const iret = exitsOf(`pushfd\nor dword [esp], 0x4000\npopfd\n${at(0x10)}\niretd\nhlt`, {}, (r) => { tss(r); r.wr(TSS, 2, 0x30); });
  assert.deepEqual(summary(iret.x), [[R.TASK_SWITCH, 0x10, (0x30 | (1 << 30)) >>> 0, 1]], 'IRET with NT: back link from the TSS, source 1');
});

test('IDT task gate: INT n through a task gate exits (source 3) with the INT n as IDT-vectoring information', () => {
  const { x } = exitsOf(`${at(2)}\nint 0x42\nhlt`, {}, (r) => {
    r.wr(0x10030, 4, 0x67 | ((0x30000 & 0xffff) << 16)); r.wr(0x10034, 4, 0x8903); r.w(F.GUEST_GDTR_LIMIT, 0x37);
    r.wr(0x11000 + 0x42 * 8, 4, 0x30 << 16); r.wr(0x11000 + 0x42 * 8 + 4, 4, 0xe500); // task gate, DPL 3 → TSS 30H
  });
  const e = x[0];
  assert.deepEqual([e.reason, e.qual >>> 0, e.idtInfo, e.len, e.rip - GUEST_CODE], [R.TASK_SWITCH, (0x30 | (3 << 30)) >>> 0, (0x80000000 | (4 << 8) | 0x42) >>> 0, 2, 2]);
});

// ------------------------------------------------------------------ VM-exit state and MSR lists (27.3-27.6, 26.4)

test('VM exit loads the host state (Vol3C 27.5): CRs, selectors, flat segments, GDTR/IDTR limits FFFFH, TR limit 67H, RSP/RIP, RFLAGS = 2, DR7 = 400H', () => {
  const r = new Rig({ code: 'mov eax, dr7\nor eax, 0xff\nmov dr7, eax\npush 0\npopfd\nstd\nstc\ncpuid' });
  r.w(F.HOST_FS_BASE, 0x12345000); r.w(F.HOST_GS_BASE, 0x6000); r.w(F.HOST_IDTR_BASE, 0x7000);
  r.w(F.HOST_IA32_SYSENTER_CS, 0x08); r.w(F.HOST_IA32_SYSENTER_ESP, 0x1111); r.w(F.HOST_IA32_SYSENTER_EIP, 0x2222);
  r.w(F.HOST_RSP, 0x10dff0);
  r.go();
  const c = r.m.cpu;
  assert.deepEqual([c.cr0 >>> 0, c.cr3, c.cr4], [0x80000031, 0x101000, 0x2010]);
  assert.deepEqual(Array.from(c.segSel.slice(0, 6)), [0x10, 0x08, 0x10, 0x10, 0x10, 0x10]);
  assert.deepEqual([c.segBase[4] >>> 0, c.segBase[5], c.segLimit[1] >>> 0, c.segLimit[2] >>> 0], [0x12345000, 0x6000, 0xffffffff, 0xffffffff]);
  assert.deepEqual([c.segSel[7], c.segBase[7], c.segLimit[7], c.segAr[7] & 0xf], [0x18, 0x102000, 0x67, 11]);
  assert.deepEqual([c.gdtrBase, c.gdtrLimit, c.idtrBase, c.idtrLimit], [0x100000, 0xffff, 0x7000, 0xffff]);
  assert.deepEqual([c.r32[4], c.eip, c.getEflags(), c.dr[7], c.cpl], [0x10dff0, 0x10f000, 2, 0x400, 0]);
  assert.deepEqual([c.sysenterCs, c.sysenterEsp, c.sysenterEip], [0x08, 0x1111, 0x2222]);
  const e = r.exits[0];
  assert.equal(e.f.GUEST_RFLAGS, 0x403, 'guest RFLAGS saved (DF, CF, bit 1)');
  assert.equal(e.f.GUEST_DR7, 0x400, 'DR7 is not saved without "save debug controls"');
});

test('"save debug controls" saves DR7; "save/load IA32_PAT" and "load IA32_EFER" switch the MSRs', () => {
  const r = new Rig({ code: 'mov eax, dr7\nor eax, 3\nmov dr7, eax\ncpuid', exit: EXIT_C.SAVE_DEBUG | EXIT_C.SAVE_PAT | EXIT_C.LOAD_PAT | EXIT_C.LOAD_EFER });
  r.w(F.GUEST_IA32_PAT, 0x0606060606060606);
  r.w(F.VM_ENTRY_CONTROLS, r.r(F.VM_ENTRY_CONTROLS) | ENTRY_C.LOAD_PAT);
  r.w(F.HOST_IA32_PAT, 0x0007040600070406); r.w(F.HOST_IA32_EFER, 0x800);
  const e = r.go();
  assert.equal(e.f.GUEST_DR7, 0x403);
  assert.equal(e.f.GUEST_IA32_PAT, 0x0606060606060606, 'guest PAT saved');
  assert.deepEqual([r.m.cpu.patLo >>> 0, r.m.cpu.patHi >>> 0, r.m.cpu.efer], [0x00070406, 0x00070406, 0x800]);
});

test('MSR lists: VM-entry MSR-load (26.4), VM-exit MSR-store (27.4) and MSR-load (27.6), 16-byte entries', () => {
  const r = new Rig({ code: 'mov ecx, 0x175\nmov eax, 0xabcd\nxor edx, edx\nwrmsr\ncpuid', proc: P.MSR_BITMAPS });
  const ENTRY_LOAD = MSR_AREA, EXIT_STORE = MSR_AREA + 0x100, EXIT_LOAD = MSR_AREA + 0x200;
  const ent = (a: number, index: number, lo: number): void => { r.wr(a, 4, index); r.wr(a + 4, 4, 0); r.wr(a + 8, 4, lo); r.wr(a + 12, 4, 0); };
  ent(ENTRY_LOAD, 0x174, 0x23);            // guest SYSENTER_CS
  ent(EXIT_STORE, 0x174, 0); ent(EXIT_STORE + 16, 0x175, 0);
  ent(EXIT_LOAD, 0x175, 0x5555);           // host SYSENTER_ESP after the exit-MSR-load
  r.w(F.VM_ENTRY_MSR_LOAD_COUNT, 1); r.w(F.VM_ENTRY_MSR_LOAD_ADDR, ENTRY_LOAD);
  r.w(F.VM_EXIT_MSR_STORE_COUNT, 2); r.w(F.VM_EXIT_MSR_STORE_ADDR, EXIT_STORE);
  r.w(F.VM_EXIT_MSR_LOAD_COUNT, 1); r.w(F.VM_EXIT_MSR_LOAD_ADDR, EXIT_LOAD);
  r.w(F.HOST_IA32_SYSENTER_ESP, 0x1111);
  const e = r.go();
  assert.equal(e.f.GUEST_SYSENTER_CS, 0x23, 'entry MSR-load reached the guest');
  assert.deepEqual([r.rd(EXIT_STORE + 8), r.rd(EXIT_STORE + 24)], [0x23, 0xabcd], 'guest values stored on exit');
  assert.equal(r.m.cpu.sysenterEsp, 0x5555, 'exit MSR-load after the host-state load');
});

test('VMX abort (27.7): indicator 1 for an MSR-store failure, 4 for an MSR-load failure on VM exit', () => {
  for (const [store, want] of [[true, 1], [false, 4]] as const) {
    const r = new Rig({ code: 'cpuid' });
    r.wr(MSR_AREA, 4, 0x12345678); r.wr(MSR_AREA + 4, 4, 0);
    if (store) { r.w(F.VM_EXIT_MSR_STORE_COUNT, 1); r.w(F.VM_EXIT_MSR_STORE_ADDR, MSR_AREA); }
    else { r.w(F.VM_EXIT_MSR_LOAD_COUNT, 1); r.w(F.VM_EXIT_MSR_LOAD_ADDR, MSR_AREA); }
    r.launch();
    const res = r.run();
    assert.equal(r.rd(VMCS + 4), want, `abort indicator at VMCS + 4 (${store ? 'store' : 'load'})`);
    assert.ok(res !== null && /VMX abort/.test(res.message), 'the machine stops (shutdown)');
  }
});
