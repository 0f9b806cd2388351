// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Prints the page ranges of a CRIU pagemap image (pagemap-PID.img), one
 * "VADDR NR_PAGES IN_PARENT" line per entry (decimal: busybox awk
 * reads no hex), so that
 * wwatch-test-criu (tests/guest/criu.sh) can say which pages a dump took
 * without CRIU's Python tools (crit), which the test's chroot lacks.
 *
 *   wwatch-criu-pagemap FILE
 *   wwatch-criu-pagemap --hash FILE
 *
 * With --hash: one "VADDR HASH" line per page CRIU stored (not in the parent
 * image), the hash of its 4 KiB in pages-ID.img beside FILE (ID: the head's
 * pages_id), so that two dumps' data can be compared page by page.
 *
 * The image: two 32-bit magics (IMG_COMMON_MAGIC 0x54564319, PAGEMAP_MAGIC
 * 0x56084025), then protobuf messages each behind a 32-bit length: first
 * pagemap_head { pages_id = 1 }, then pagemap_entry { vaddr = 1 (uint64),
 * nr_pages = 2 (uint32), in_parent = 3 (bool), flags = 4 (uint32) }
 * (criu/images/pagemap.proto).  Flag PE_PARENT (bit 0) also means "in the
 * parent image".  Exit status 0, or 1 with a message for a malformed image.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PAGE 4096

#define IMG_COMMON_MAGIC 0x54564319u
#define PAGEMAP_MAGIC 0x56084025u
#define PE_PARENT 1u

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Decodes one pagemap_entry; -1 if malformed. */
static int entry(const unsigned char *p, const unsigned char *end,
		 uint64_t *vaddr, uint64_t *nr, uint64_t *in_parent)
{
	uint64_t key, v, flags = 0;
	int have = 0;

	*in_parent = 0;
	while (p < end) {
		if (varint(&p, end, &key))
			return -1;
		if ((key & 7) != 0)	/* every field here is a varint */
			return -1;
		if (varint(&p, end, &v))
			return -1;
		switch (key >> 3) {
		case 1: *vaddr = v; have |= 1; break;
		case 2: *nr = v; have |= 2; break;
		case 3: *in_parent = v != 0; break;
		case 4: flags = v; break;
		default: break;
		}
	}
	if (flags & PE_PARENT)
		*in_parent = 1;
	return have == 3 ? 0 : -1;
}

/* FNV-1a, 64 bits: enough to tell two dumps' copies of a page apart. */
static uint64_t hash_page(const unsigned char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < PAGE; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* pages-ID.img in the directory of PAGEMAP. */
static FILE *open_pages(const char *pagemap, uint64_t id)
{
	const char *slash = strrchr(pagemap, '/');
	int dirlen = slash ? (int)(slash - pagemap + 1) : 0;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%.*spages-%llu.img", dirlen, pagemap,
		 (unsigned long long)id);
	f = fopen(path, "rb");
	if (!f)
		perror(path);
	return f;
}

int main(int argc, char **argv)
{
	unsigned char buf[256], page[PAGE];
	uint32_t hdr[2], len;
	unsigned long n = 0;
	FILE *f, *pages = NULL;
	const char *file;
	int hash;

	hash = argc == 3 && strcmp(argv[1], "--hash") == 0;
	if (argc != 2 + hash) {
		fprintf(stderr, "usage: wwatch-criu-pagemap [--hash] PAGEMAP-IMAGE\n");
		return 2;
	}
	file = argv[1 + hash];
	f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return 1;
	}
	if (fread(hdr, sizeof(hdr), 1, f) != 1 || hdr[0] != IMG_COMMON_MAGIC ||
	    hdr[1] != PAGEMAP_MAGIC) {
		fprintf(stderr, "%s: not a CRIU pagemap image\n", file);
		return 1;
	}
	while (fread(&len, sizeof(len), 1, f) == 1) {
		uint64_t vaddr = 0, nr = 0, in_parent, id, i;
		const unsigned char *p = buf;

		if (len > sizeof(buf) || fread(buf, len, 1, f) != 1) {
			fprintf(stderr, "%s: entry %lu truncated or too long (%u bytes)\n",
				file, n, len);
			return 1;
		}
		if (n++ == 0) {	/* pagemap_head { pages_id = 1 } */
			if (!hash)
				continue;
			if (varint(&p, buf + len, &id) || id != 1 << 3 ||
			    varint(&p, buf + len, &id)) {
				fprintf(stderr, "%s: malformed head\n", file);
				return 1;
			}
			pages = open_pages(file, id);
			if (!pages)
				return 1;
			continue;
		}
		if (entry(buf, buf + len, &vaddr, &nr, &in_parent)) {
			fprintf(stderr, "%s: entry %lu malformed\n", file, n - 1);
			return 1;
		}
		if (!hash) {
			printf("%llu %llu %llu\n", (unsigned long long)vaddr,
			       (unsigned long long)nr, (unsigned long long)in_parent);
			continue;
		}
		for (i = 0; !in_parent && i < nr; i++) {
			if (fread(page, PAGE, 1, pages) != 1) {
				fprintf(stderr, "%s: the pages image ends early\n", file);
				return 1;
			}
			printf("%llu %016llx\n", (unsigned long long)(vaddr + i * PAGE),
			       (unsigned long long)hash_page(page));
		}
	}
	if (n == 0) {
		fprintf(stderr, "%s: no pagemap_head\n", argv[1]);
		return 1;
	}
	return 0;
}
