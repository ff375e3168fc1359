/*
 * Edge application: unzip. Inflates every entry of a ~1 MB zip archive (generated header
 * inflate_archive.h) with a decoder written from RFC 1951 (DEFLATE: stored, fixed-Huffman and
 * dynamic-Huffman blocks, LZ77 back-references up to 32 KiB), walking the archive by the local file
 * headers of PKWARE's APPNOTE.TXT, and computes each entry's CRC-32 (reflected polynomial 0xEDB88320).
 *
 * The kernel inflates the entries and computes their CRC-32s; the headers are walked before it.
 * Output: one line per entry, the block types met, and the checksum of the concatenated inflated
 * entries. Exit status 1 when the archive is corrupt (bad header, bad deflate stream, wrong size or
 * CRC-32). Arguments: "dump" writes the concatenated inflated bytes to stderr; "corrupt OFFSET" flips
 * the bits of the archive's byte at OFFSET first, to show that corruption is caught.
 */
#include "../common/hwprof_bench.h"
#include "inflate_archive.h"

#define MAX_BITS 15            /* longest code DEFLATE allows */
#define FAST_BITS 9            /* codes up to this long decode with one table look-up */
#define MAX_ENTRIES 64
#define MAX_INFLATED (256u << 20)

struct huffman {
    uint16_t fast[1 << FAST_BITS]; /* next FAST_BITS input bits -> symbol << 4 | length; 0: longer code */
    uint16_t count[MAX_BITS + 1];  /* codes of each length */
    uint16_t symbol[288];          /* symbols in canonical code order */
};

/* The input bit stream, least significant bit first; past the end it reads zeros. */
struct bits {
    const uint8_t *in;
    size_t len, pos;
    uint64_t buf;
    int cnt;
};

struct entry {
    const char *name;
    int name_len, method;
    uint32_t crc, crc_out;
    size_t csize, usize, data, out; /* data: offset in the archive; out: offset in the output */
};

struct blocks {
    long stored, fixed, dynamic;
};

static const uint16_t LEN_BASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                      4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                       513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8,
                                       9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* The order in which a dynamic block lists the code lengths of the code-length alphabet. */
static const uint8_t CLEN_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

static uint32_t crc_table[256];
static struct huffman fixed_lit, fixed_dist, dyn_lit, dyn_dist, dyn_clen;

static inline void refill(struct bits *b)
{
    while (b->cnt <= 56) {
        uint64_t byte = b->pos < b->len ? b->in[b->pos] : 0;
        b->pos++;
        b->buf |= byte << b->cnt;
        b->cnt += 8;
    }
}

static inline uint32_t take(struct bits *b, int n)
{
    uint32_t v = (uint32_t)(b->buf & ((1ull << n) - 1));
    b->buf >>= n;
    b->cnt -= n;
    return v;
}

static unsigned reverse_bits(unsigned code, int len)
{
    unsigned r = 0;
    for (int i = 0; i < len; i++, code >>= 1)
        r = (r << 1) | (code & 1);
    return r;
}

/* Canonical Huffman code from code lengths (RFC 1951, 3.2.2); -1 when the lengths are over-subscribed. */
static int build(struct huffman *h, const uint8_t *lengths, int n)
{
    uint16_t next[MAX_BITS + 1];
    memset(h->count, 0, sizeof h->count);
    for (int s = 0; s < n; s++)
        h->count[lengths[s]]++;
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left = (left << 1) - h->count[len];
        if (left < 0)
            return -1;
    }
    next[1] = 0;
    for (int len = 1; len < MAX_BITS; len++)
        next[len + 1] = next[len] + h->count[len];
    for (int s = 0; s < n; s++)
        if (lengths[s])
            h->symbol[next[lengths[s]]++] = (uint16_t)s;
    memset(h->fast, 0, sizeof h->fast);
    unsigned code = 0;
    for (int len = 1, k = 0; len <= FAST_BITS; len++, code <<= 1)
        for (int i = 0; i < h->count[len]; i++, k++, code++) {
            uint16_t e = (uint16_t)(h->symbol[k] << 4 | len);
            for (unsigned j = reverse_bits(code, len); j < (1u << FAST_BITS); j += 1u << len)
                h->fast[j] = e;
        }
    return 0;
}

/* A code longer than FAST_BITS: walk the lengths, reading the code most significant bit first. */
static int decode_slow(struct bits *b, const struct huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        code |= (int)(b->buf >> (len - 1)) & 1;
        int count = h->count[len];
        if (code < first + count) {
            take(b, len);
            return h->symbol[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

/* The next symbol; the buffer must hold MAX_BITS bits. -1 for a code the table does not have. */
static inline int decode(struct bits *b, const struct huffman *h)
{
    uint16_t e = h->fast[b->buf & ((1u << FAST_BITS) - 1)];
    if (e) {
        take(b, e & 15);
        return e >> 4;
    }
    return decode_slow(b, h);
}

/* A Huffman-coded block's literals and back-references into out[start..cap). */
static const char *codes(struct bits *b, const struct huffman *lit, const struct huffman *dist,
                         uint8_t *out, size_t start, size_t *pos, size_t cap)
{
    size_t at = *pos;
    for (;;) {
        refill(b); /* >= 57 bits: enough for a length and a distance with their extra bits */
        int sym = decode(b, lit);
        if (sym < 256) {
            if (sym < 0)
                return "invalid literal/length code";
            if (at >= cap)
                return "more data than the header's size";
            out[at++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256)
            break;
        if ((sym -= 257) >= 29)
            return "invalid length symbol";
        size_t len = LEN_BASE[sym] + take(b, LEN_EXTRA[sym]);
        int ds = decode(b, dist);
        if (ds < 0 || ds >= 30)
            return "invalid distance code";
        size_t d = DIST_BASE[ds] + take(b, DIST_EXTRA[ds]);
        if (d > at - start)
            return "distance reaches before the entry's start";
        if (len > cap - at)
            return "more data than the header's size";
        const uint8_t *from = out + at - d;
        for (size_t i = 0; i < len; i++) /* byte by byte: source and destination may overlap */
            out[at + i] = from[i];
        at += len;
    }
    *pos = at;
    return NULL;
}

static const char *stored(struct bits *b, uint8_t *out, size_t *pos, size_t cap)
{
    take(b, b->cnt & 7);
    b->pos -= (size_t)(b->cnt / 8); /* hand the buffered whole bytes back to the input */
    b->buf = 0;
    b->cnt = 0;
    if (b->pos > b->len || b->len - b->pos < 4)
        return "truncated stored block";
    const uint8_t *p = b->in + b->pos;
    unsigned len = p[0] | p[1] << 8, nlen = p[2] | p[3] << 8;
    if (len != (~nlen & 0xffffu))
        return "stored block length does not match its complement";
    b->pos += 4;
    if (b->len - b->pos < len)
        return "truncated stored block";
    if (len > cap - *pos)
        return "more data than the header's size";
    memcpy(out + *pos, b->in + b->pos, len);
    b->pos += len;
    *pos += len;
    return NULL;
}

/* Read a dynamic block's code-length code, then the literal/length and distance code lengths. */
static const char *dynamic_tables(struct bits *b)
{
    uint8_t lengths[286 + 30], clen[19] = {0};
    refill(b);
    int nlit = (int)take(b, 5) + 257, ndist = (int)take(b, 5) + 1, nclen = (int)take(b, 4) + 4;
    if (nlit > 286 || ndist > 30)
        return "too many length or distance codes";
    refill(b);
    for (int i = 0; i < nclen; i++)
        clen[CLEN_ORDER[i]] = (uint8_t)take(b, 3);
    if (build(&dyn_clen, clen, 19) < 0)
        return "over-subscribed code-length code";
    for (int i = 0; i < nlit + ndist;) {
        refill(b);
        int sym = decode(b, &dyn_clen), rep;
        uint8_t val = 0;
        if (sym < 0)
            return "invalid code-length code";
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0)
                return "repeat with no previous length";
            val = lengths[i - 1];
            rep = 3 + (int)take(b, 2);
        } else if (sym == 17) {
            rep = 3 + (int)take(b, 3);
        } else {
            rep = 11 + (int)take(b, 7);
        }
        if (rep > nlit + ndist - i)
            return "code lengths repeat past the end";
        while (rep--)
            lengths[i++] = val;
    }
    if (lengths[256] == 0)
        return "no end-of-block code";
    if (build(&dyn_lit, lengths, nlit) < 0 || build(&dyn_dist, lengths + nlit, ndist) < 0)
        return "over-subscribed literal/length or distance code";
    return NULL;
}

/* Inflate one raw deflate stream into out[start..cap); *end gets the end of the data written. */
static const char *inflate_stream(const uint8_t *in, size_t len, uint8_t *out, size_t start, size_t cap,
                                  size_t *end, struct blocks *blk)
{
    struct bits b = {in, len, 0, 0, 0};
    size_t pos = start;
    const char *err = NULL;
    unsigned last;
    do {
        refill(&b);
        last = take(&b, 1);
        switch (take(&b, 2)) {
        case 0:
            blk->stored++;
            err = stored(&b, out, &pos, cap);
            break;
        case 1:
            blk->fixed++;
            err = codes(&b, &fixed_lit, &fixed_dist, out, start, &pos, cap);
            break;
        case 2:
            blk->dynamic++;
            err = dynamic_tables(&b);
            if (!err)
                err = codes(&b, &dyn_lit, &dyn_dist, out, start, &pos, cap);
            break;
        default:
            err = "invalid block type";
        }
    } while (!err && !last);
    if (!err && b.pos * 8 - (size_t)b.cnt > len * 8)
        err = "deflate stream runs past the entry's data";
    *end = pos;
    return err;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* The kernel: inflate (or copy) every entry and compute its CRC-32; the index of a bad entry, or -1. */
static int unzip(struct entry *e, int n, uint8_t *out, struct blocks *blk, const char **why)
{
    for (int i = 0; i < n; i++) {
        size_t end = e[i].out + e[i].usize;
        if (e[i].method == 0) {
            memcpy(out + e[i].out, archive_zip + e[i].data, e[i].usize);
        } else {
            *why = inflate_stream(archive_zip + e[i].data, e[i].csize, out, e[i].out, e[i].out + e[i].usize,
                                  &end, blk);
            if (!*why && end != e[i].out + e[i].usize)
                *why = "less data than the header's size";
            if (*why)
                return i;
        }
        e[i].crc_out = crc32_of(out + e[i].out, e[i].usize);
    }
    return -1;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

/* Walk the local file headers up to the central directory; the number of entries, or -1 (*why says why). */
static int walk(const uint8_t *zip, size_t size, struct entry *e, size_t *total, const char **why)
{
    size_t at = 0, out = 0;
    int n = 0;
    for (;; n++) {
        if (size - at < 4) {
            *why = "no central directory";
            return -1;
        }
        uint32_t sig = le32(zip + at);
        if (sig == 0x02014b50 || sig == 0x06054b50)
            break;
        if (sig != 0x04034b50 || size - at < 30 || n == MAX_ENTRIES) {
            *why = sig != 0x04034b50 ? "bad local file header signature" : "truncated or too many entries";
            return -1;
        }
        const uint8_t *h = zip + at;
        uint32_t flags = le16(h + 6), name_len = le16(h + 26), extra_len = le16(h + 28);
        e[n] = (struct entry){(const char *)h + 30, (int)name_len, (int)le16(h + 8), le32(h + 14), 0,
                              le32(h + 18), le32(h + 22), at + 30 + name_len + extra_len, out};
        if (flags & 9) {
            *why = "encrypted entry or sizes after the data (unsupported)";
            return -1;
        }
        if ((e[n].method != 0 && e[n].method != 8) || (e[n].method == 0 && e[n].csize != e[n].usize)) {
            *why = "unknown compression method or stored entry with two sizes";
            return -1;
        }
        if (e[n].data > size || size - e[n].data < e[n].csize || e[n].usize > MAX_INFLATED - out) {
            *why = "entry data past the archive's end or too large";
            return -1;
        }
        out += e[n].usize;
        at = e[n].data + e[n].csize;
    }
    *total = out;
    return n;
}

static void tables_init(void)
{
    uint8_t lengths[288];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    for (int s = 0; s < 288; s++) /* the fixed code (RFC 1951, 3.2.6) */
        lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    build(&fixed_lit, lengths, 288);
    memset(lengths, 5, 30);
    build(&fixed_dist, lengths, 30);
}

int main(int argc, char **argv)
{
    struct entry entries[MAX_ENTRIES];
    struct blocks blk = {0, 0, 0};
    const char *why = NULL;
    size_t total = 0;
    int dump = 0;

    for (int i = 1; i < argc; i++) {
        char *rest = NULL;
        if (strcmp(argv[i], "dump") == 0) {
            dump = 1;
        } else if (strcmp(argv[i], "corrupt") == 0 && i + 1 < argc) {
            unsigned long at = strtoul(argv[++i], &rest, 10);
            if (*rest || at >= ARCHIVE_BYTES) {
                fprintf(stderr, "inflate: corrupt OFFSET must be below %d\n", ARCHIVE_BYTES);
                return 2;
            }
            archive_zip[at] ^= 0xff;
        } else {
            fprintf(stderr, "usage: inflate [dump] [corrupt OFFSET]\n");
            return 2;
        }
    }
    tables_init();
    int n = walk(archive_zip, ARCHIVE_BYTES, entries, &total, &why);
    if (n < 0) {
        fprintf(stderr, "inflate: corrupt archive: %s\n", why);
        return 1;
    }
    uint8_t *out = hwprof_alloc(total);

    bench_start();
    int bad = unzip(entries, n, out, &blk, &why);
    bench_end();

    if (bad >= 0) {
        fprintf(stderr, "inflate: %.*s: %s\n", entries[bad].name_len, entries[bad].name, why);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const struct entry *e = &entries[i];
        if (e->crc_out != e->crc) {
            fprintf(stderr, "inflate: %.*s: CRC-32 %08x, header says %08x\n", e->name_len, e->name,
                    (unsigned)e->crc_out, (unsigned)e->crc);
            bad = i;
        }
        printf("entry: %.*s %s %zu -> %zu bytes, crc32 %08x\n", e->name_len, e->name,
               e->method ? "deflated" : "stored", e->csize, e->usize, (unsigned)e->crc_out);
    }
    if (bad >= 0)
        return 1;
    printf("blocks: stored %ld fixed %ld dynamic %ld\n", blk.stored, blk.fixed, blk.dynamic);
    hwprof_checksum_bytes(out, total);
    if (dump)
        fwrite(out, 1, total, stderr);
    free(out);
    return 0;
}
