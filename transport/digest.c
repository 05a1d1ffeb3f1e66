/*
 * The hashes host-key handling needs, in plain C: SHA-256 for fingerprints (OpenSSH prints a key
 * as "SHA256:" and the unpadded base64 of the SHA-256 of its wire blob), and HMAC-SHA1 for hashed
 * known_hosts names ("|1|salt|hash", where hash = HMAC-SHA1(salt, name)). libssh2 computes a
 * fingerprint only for the key of a live session, and Debian's libssh2 uses libgcrypt, not
 * OpenSSL, so neither can be borrowed without a new dependency. FIPS 180-4 and RFC 2104.
 */
#include "transport/transport_internal.h"

#include <string.h>

static uint32_t rol(uint32_t x, unsigned n)
{
  return (x << n) | (x >> (32 - n));
}

static uint32_t ror(uint32_t x, unsigned n)
{
  return (x >> n) | (x << (32 - n));
}

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Both hashes pad the same way: 0x80, zeros, the bit length big-endian in the last 8 bytes. */
typedef void (*block_fn)(uint32_t *h, const unsigned char *block);

static void md(block_fn block, uint32_t *h, const unsigned char *prefix, size_t plen,
               const unsigned char *in, size_t len)
{
  unsigned char buf[64];
  size_t used = 0;
  uint64_t total = (uint64_t)(plen + len) * 8;
  const unsigned char *parts[2] = {prefix, in};
  size_t lens[2] = {plen, len};
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < lens[p]; i++) {
      buf[used++] = parts[p][i];
      if (used == 64) {
        block(h, buf);
        used = 0;
      }
    }
  buf[used++] = 0x80;
  if (used > 56) {
    memset(buf + used, 0, 64 - used);
    block(h, buf);
    used = 0;
  }
  memset(buf + used, 0, 56 - used);
  put_be32(buf + 56, (uint32_t)(total >> 32));
  put_be32(buf + 60, (uint32_t)total);
  block(h, buf);
}

static void sha1_block(uint32_t *h, const unsigned char *p)
{
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = be32(p + 4 * i);
  for (int i = 16; i < 80; i++)
    w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    uint32_t tmp = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = tmp;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

static void sha1_parts(const unsigned char *prefix, size_t plen, const unsigned char *in,
                       size_t len, unsigned char out[20])
{
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  md(sha1_block, h, prefix, plen, in, len);
  for (int i = 0; i < 5; i++)
    put_be32(out + 4 * i, h[i]);
}

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t *h, const unsigned char *p)
{
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = be32(p + 4 * i);
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k256[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

void transport__sha256(const unsigned char *in, size_t len, unsigned char out[32])
{
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  md(sha256_block, h, NULL, 0, in, len);
  for (int i = 0; i < 8; i++)
    put_be32(out + 4 * i, h[i]);
}

void transport__hmac_sha1(const unsigned char *key, size_t klen, const unsigned char *msg,
                          size_t mlen, unsigned char out[20])
{
  unsigned char k[64] = {0}, pad[64], inner[20];
  if (klen > 64)
    sha1_parts(NULL, 0, key, klen, k);
  else
    memcpy(k, key, klen);
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x36;
  sha1_parts(pad, 64, msg, mlen, inner);
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x5c;
  sha1_parts(pad, 64, inner, sizeof inner, out);
}

void transport__fingerprint(const unsigned char *blob, size_t len, char *out, size_t outlen)
{
  unsigned char hash[32];
  char b64[48];
  transport__sha256(blob, len, hash);
  transport__base64(hash, sizeof hash, b64, sizeof b64);
  snprintf(out, outlen, "SHA256:%s", b64);
}

/* Standard base64 (padding optional); -1 on any other character or when `out` is too small. */
long transport__base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
  size_t o = 0;
  uint32_t v = 0;
  unsigned bits = 0;
  size_t i = 0;
  for (; i < len && in[i] != '='; i++) {
    char c = in[i];
    unsigned d;
    if (c >= 'A' && c <= 'Z')
      d = (unsigned)(c - 'A');
    else if (c >= 'a' && c <= 'z')
      d = (unsigned)(c - 'a') + 26;
    else if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0') + 52;
    else if (c == '+')
      d = 62;
    else if (c == '/')
      d = 63;
    else
      return -1;
    v = (v << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == outlen)
        return -1;
      out[o++] = (unsigned char)(v >> bits);
    }
  }
  for (; i < len; i++)
    if (in[i] != '=')
      return -1;
  return (long)o;
}
