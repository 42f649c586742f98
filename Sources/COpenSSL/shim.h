// The OpenSSL 3 headers HealthLedger uses, plus static inline wrappers for what Swift cannot import
// (function-like macros). Only the Crypto module (and later Transport) include this.
#ifndef HEALTHLEDGER_COPENSSL_SHIM_H
#define HEALTHLEDGER_COPENSSL_SHIM_H

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static inline void hl_openssl_free(void *pointer) { OPENSSL_free(pointer); }

// Wipes, then frees, memory OpenSSL allocated for secret data (decoded key DER).
static inline void hl_openssl_clear_free(void *pointer, size_t length) { OPENSSL_clear_free(pointer, length); }

static inline long hl_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

#endif
