// SPDX-License-Identifier: BSD-2-Clause
/* Go executables, read with libelf; formats from the Go toolchain's own readers (debug/buildinfo,
 * debug/gosym) and runtime/symtab.go. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dlfcn.h>
#include <capstone/capstone.h>
#include "capture/goelf.h"

/* .go.buildinfo: this magic, the pointer size, a flags byte whose bit 1 says the strings
 * follow the 32-byte header inline (Go 1.18+), each a uvarint length and the bytes. */
static const char buildinfo_magic[14] = "\xff Go buildinf:";
#define BUILDINFO_INLINE 0x2

/* .gopclntab header magics of the layouts read here (runtime/symtab.go): Go 1.18-1.19 and
 * Go 1.20+. Both: magic, 2 pad bytes, min instruction size, pointer size, then nfunc, nfiles,
 * textStart, funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset (pointer-sized). */
#define PCLN_GO118 0xfffffff0u
#define PCLN_GO120 0xfffffff1u

struct image {
	Elf *elf;
	const uint8_t *raw;
	size_t size;
	GElf_Ehdr eh;
};

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool section(struct image *im, const char *name, GElf_Shdr *out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(im->elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(im->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, out))
			continue;
		n = elf_strptr(im->elf, shstrndx, out->sh_name);
		if (n && !strcmp(n, name))
			return out->sh_type != SHT_NOBITS && out->sh_offset <= im->size &&
			       out->sh_size <= im->size - out->sh_offset;
	}
	return false;
}

/* File offset of a virtual address, through the PT_LOAD segment that maps it. */
static bool vaddr_to_off(struct image *im, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < im->eh.e_phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(im->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* One of .go.buildinfo's inline strings: a uvarint length, then the bytes. NULL past the end. */
static const uint8_t *read_str(const uint8_t **pp, const uint8_t *end, uint64_t *len)
{
	const uint8_t *p = *pp, *s;
	uint64_t n = 0;
	int shift = 0;

	for (; p < end && shift < 64; p++, shift += 7) {
		n |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80))
			break;
	}
	if (p >= end || n > (uint64_t)(end - p - 1))
		return NULL;
	s = p + 1;
	*pp = s + n;
	*len = n;
	return s;
}

/* grpc-go's minor version from the module list ("dep\tgoogle.golang.org/grpc\tv1.76.0\t..."),
 * or -1. */
static int grpc_minor(const uint8_t *mod, uint64_t len)
{
	static const char dep[] = "\tgoogle.golang.org/grpc\tv1.";
	const char *at = memmem(mod, len, dep, sizeof(dep) - 1);
	int minor;

	if (!at || sscanf(at + sizeof(dep) - 1, "%d", &minor) != 1)
		return -1;
	return minor;
}

static int read_version(struct image *im, struct go_binary *out, char *why, size_t wl)
{
	const uint8_t *p, *end, *s, *mod;
	uint64_t n, modlen;
	GElf_Shdr sh;

	if (!section(im, ".go.buildinfo", &sh) || sh.sh_size < 33 ||
	    memcmp(im->raw + sh.sh_offset, buildinfo_magic, sizeof(buildinfo_magic)))
		return -ENOEXEC;
	p = im->raw + sh.sh_offset;
	end = p + sh.sh_size;
	if (!(p[15] & BUILDINFO_INLINE) || p[14] != 8)
		return fail(why, wl, -ENOTSUP, "built by a Go older than 1.18");
	p += 32;
	s = read_str(&p, end, &n);
	if (!s || n >= sizeof(out->version))
		return fail(why, wl, -ENOTSUP, "its Go build information is unreadable");
	memcpy(out->version, s, n);
	out->version[n] = '\0';
	mod = read_str(&p, end, &modlen);
	out->grpc_minor = mod ? grpc_minor(mod, modlen) : -1;
	if (sscanf(out->version, "go%d.%d", &out->major, &out->minor) != 2)
		return fail(why, wl, -ENOTSUP, "unknown Go version '%s'", out->version);
	/* register ABI (arguments in RAX, RBX, ..., g in R14) from 1.17; pclntab layout 1.18+ */
	if (out->major != 1 || out->minor < 18)
		return fail(why, wl, -ENOTSUP, "%s is older than go1.18", out->version);
	return 0;
}

/* The pclntab's textStart: its own field when the Go linker wrote it; 0 when an external linker
 * (cgo, PIE) relocates it at load time, and then the start of .text, where runtime.text is
 * (as debug/gosym does). */
static uint64_t text_start(struct image *im, const GElf_Shdr *pcln)
{
	uint64_t v = rd64(im->raw + pcln->sh_offset + 24);
	GElf_Shdr text;

	if (v)
		return v;
	return section(im, ".text", &text) ? text.sh_addr : 0;
}

struct wanted {
	const char *name;
	uint64_t *entry; /* file offset */
	uint64_t size;
};

static int find_functions(struct image *im, struct wanted *w, int nw, char *why, size_t wl)
{
	const uint8_t *tab, *ftab;
	uint64_t nfunc, text, nameoff, pcln, limit;
	uint32_t magic;
	GElf_Shdr sh;

	/* Go 1.19's PIE builds name it .data.rel.ro.gopclntab */
	if ((!section(im, ".gopclntab", &sh) && !section(im, ".data.rel.ro.gopclntab", &sh)) ||
	    sh.sh_size < 72)
		return fail(why, wl, -ENOTSUP, "it has no .gopclntab section");
	tab = im->raw + sh.sh_offset;
	magic = rd32(tab);
	if ((magic != PCLN_GO118 && magic != PCLN_GO120) || tab[7] != 8)
		return fail(why, wl, -ENOTSUP, "unknown pclntab layout %#x", magic);
	nfunc = rd64(tab + 8);
	text = text_start(im, &sh);
	nameoff = rd64(tab + 32);
	pcln = rd64(tab + 64);
	limit = sh.sh_size;
	if (!text || pcln >= limit || nameoff >= limit || nfunc > (limit - pcln) / 8 - 1)
		return fail(why, wl, -ENOTSUP, "its pclntab is unreadable");
	ftab = tab + pcln;
	for (uint64_t i = 0; i < nfunc; i++) {
		uint32_t entry = rd32(ftab + i * 8), funcoff = rd32(ftab + i * 8 + 4);
		const char *name;
		uint64_t at;

		if (funcoff > limit - pcln - 8)
			continue;
		at = nameoff + rd32(ftab + funcoff + 4);
		if (at >= limit)
			continue;
		name = (const char *)tab + at;
		if (strnlen(name, limit - at) == limit - at)
			continue;
		for (int k = 0; k < nw; k++) {
			if (*w[k].entry || strcmp(name, w[k].name))
				continue;
			if (!vaddr_to_off(im, text + entry, w[k].entry))
				return fail(why, wl, -ENOTSUP, "%s is outside the file", w[k].name);
			/* the next function's entry ends this one */
			w[k].size = rd32(ftab + (i + 1) * 8) - entry;
		}
	}
	return 0;
}

/* capstone, loaded only while a Go executable is inspected: the loader's relocations touch all
 * of its tables, ~4.7 MB of the agent's RSS for as long as it is mapped, for a few
 * disassemblies at start-up and exec. */
struct capstone {
	void *lib;
	cs_err (*open)(cs_arch arch, cs_mode mode, csh *handle);
	size_t (*disasm)(csh handle, const uint8_t *code, size_t size, uint64_t address,
			 size_t count, cs_insn **insn);
	void (*free)(cs_insn *insn, size_t count);
	cs_err (*close)(csh *handle);
};

static int capstone_load(struct capstone *cs)
{
	cs->lib = dlopen("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!cs->lib)
		return -ENOENT;
	cs->open = (cs_err(*)(cs_arch, cs_mode, csh *))dlsym(cs->lib, "cs_open");
	cs->disasm = (size_t(*)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **))dlsym(
	    cs->lib, "cs_disasm");
	cs->free = (void (*)(cs_insn *, size_t))dlsym(cs->lib, "cs_free");
	cs->close = (cs_err(*)(csh *))dlsym(cs->lib, "cs_close");
	if (cs->open && cs->disasm && cs->free && cs->close)
		return 0;
	dlclose(cs->lib);
	return -ENOENT;
}

/* The RET instructions of the function at file offset off, size bytes long: 0, or -ENOTSUP when
 * it has none or more than GO_MAX_RETS. */
static int find_rets(const struct capstone *cap, csh cs, struct image *im, uint64_t off,
		     uint64_t size, uint64_t *rets, int *nrets)
{
	cs_insn *insn = NULL;
	size_t n;

	*nrets = 0;
	if (!size || off > im->size || size > im->size - off || size > 1 << 20)
		return -ENOTSUP;
	n = cap->disasm(cs, im->raw + off, size, off, 0, &insn);
	for (size_t i = 0; i < n; i++) {
		if (insn[i].id != X86_INS_RET)
			continue;
		if (*nrets == GO_MAX_RETS) {
			*nrets = 0;
			break;
		}
		rets[(*nrets)++] = insn[i].address;
	}
	cap->free(insn, n);
	return *nrets ? 0 : -ENOTSUP;
}

/* grpc-go's client header hand-over (bpf/gouprobe.bpf.c), for the versions whose frame layout
 * is known: optional, a binary without it only has its gRPC client calls unlinked */
static void find_grpc_client(const struct capstone *cap, csh cs, struct image *im,
			     struct go_binary *out, uint64_t headers_size)
{
	if (out->grpc_minor < 53 || out->grpc_minor > 85 || !out->grpc_client_headers ||
	    !out->grpc_client_stream || (out->grpc_minor >= 83) != out->grpc_client_stream_v83 ||
	    find_rets(cap, cs, im, out->grpc_client_headers, headers_size,
		      out->grpc_client_headers_rets, &out->grpc_client_nrets)) {
		out->grpc_client_headers = out->grpc_client_stream = 0;
		out->grpc_client_nrets = 0;
	}
}

static int find_all_rets(struct image *im, uint64_t newproc1_size, uint64_t headers_size,
			 struct go_binary *out, char *why, size_t wl)
{
	struct capstone cap;
	csh cs;
	int err;

	if (capstone_load(&cap))
		return fail(why, wl, -ENOTSUP,
			    "libcapstone.so.4 is not installed (package libcapstone4)");
	if (cap.open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		dlclose(cap.lib);
		return fail(why, wl, -ENOMEM, "capstone: cannot open a decoder");
	}
	err =
	    find_rets(&cap, cs, im, out->newproc1, newproc1_size, out->newproc1_rets, &out->nrets);
	if (err)
		err = fail(why, wl, err, "no (or too many) RET instructions in runtime.newproc1");
	else
		find_grpc_client(&cap, cs, im, out, headers_size);
	cap.close(&cs);
	dlclose(cap.lib);
	return err;
}

/* The running g is read 8 bytes below the thread pointer (bpf/goroutine.bpf.h): where Go's own
 * linker puts it in a static executable (no TLS segment at all), and where an external linker
 * puts runtime.tlsg when the executable's TLS block holds only it. */
static int check_tls(struct image *im, char *why, size_t wl)
{
	for (size_t i = 0; i < im->eh.e_phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(im->elf, i, &ph) || ph.p_type != PT_TLS)
			continue;
		if (ph.p_memsz == 8)
			return 0;
		return fail(why, wl, -ENOTSUP,
			    "its TLS block is %llu bytes (C thread-locals beside the runtime's g)",
			    (unsigned long long)ph.p_memsz);
	}
	return 0;
}

int go_binary__inspect(const char *path, struct go_binary *out, char *why, size_t wl)
{
	struct image im = {};
	uint64_t v83_stream = 0;
	struct wanted w[] = {
	    {"runtime.newproc1", &out->newproc1, 0},
	    {"net/http.(*persistConn).roundTrip", &out->http_roundtrip, 0},
	    {"net/http.(*Request).write", &out->http_write, 0},
	    {"google.golang.org/grpc.(*Server).handleStream", &out->grpc_handle_stream, 0},
	    {"google.golang.org/grpc/internal/transport.(*http2Client).createHeaderFields",
	     &out->grpc_client_headers, 0},
	    {"google.golang.org/grpc/internal/transport.(*loopyWriter).originateStream",
	     &out->grpc_client_stream, 0},
	    {"google.golang.org/grpc/internal/transport.(*loopyWriter).clientHeaderHandler",
	     &v83_stream, 0},
	};
	int fd, err;

	memset(out, 0, sizeof(*out));
	if (why && wl)
		why[0] = '\0';
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	im.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!im.elf || elf_kind(im.elf) != ELF_K_ELF || !gelf_getehdr(im.elf, &im.eh) ||
	    !(im.raw = (const uint8_t *)elf_rawfile(im.elf, &im.size))) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = read_version(&im, out, why, wl);
	if (err)
		goto cleanup;
	if (im.eh.e_machine != EM_X86_64 || im.eh.e_ident[EI_CLASS] != ELFCLASS64) {
		err = fail(why, wl, -ENOTSUP, "only x86-64 Go executables are followed");
		goto cleanup;
	}
	err = check_tls(&im, why, wl);
	if (err)
		goto cleanup;
	err = find_functions(&im, w, sizeof(w) / sizeof(w[0]), why, wl);
	if (err)
		goto cleanup;
	if (!out->newproc1) {
		err = fail(why, wl, -ENOTSUP, "runtime.newproc1 is missing");
		goto cleanup;
	}
	if (!out->http_roundtrip || !out->http_write)
		out->http_roundtrip = out->http_write = 0;
	if (v83_stream) {
		out->grpc_client_stream = v83_stream;
		out->grpc_client_stream_v83 = true;
	}
	err = find_all_rets(&im, w[0].size, w[4].size, out, why, wl);
cleanup:
	elf_end(im.elf);
	close(fd);
	return err;
}
