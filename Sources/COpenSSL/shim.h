// The OpenSSL 3 headers HealthLedger uses, plus static inline wrappers for what Swift cannot import
// (function-like macros, and one variadic system call the TLS module needs). Only the Crypto and TLS
// modules include this.
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
#include <sys/ioctl.h>
#include <linux/sockios.h>

static inline void hl_openssl_free(void *pointer) { OPENSSL_free(pointer); }

// The TCP socket beneath a TLS connection: bytes written to it and not yet acknowledged by the peer
// (SIOCOUTQ), or -1. Here because `ioctl` is variadic, which Swift does not import.
static inline int hl_socket_unacknowledged_bytes(int descriptor) {
    int bytes = 0;
    return ioctl(descriptor, SIOCOUTQ, &bytes) == 0 ? bytes : -1;
}

// Wipes, then frees, memory OpenSSL allocated for secret data (decoded key DER).
static inline void hl_openssl_clear_free(void *pointer, size_t length) { OPENSSL_clear_free(pointer, length); }

static inline long hl_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// TLS (libssl): these are macros over SSL_CTX_ctrl, which Swift does not import.

// Restricts a context to TLS 1.3 (minimum and maximum protocol version). Returns 1 on success.
static inline int hl_ssl_ctx_set_tls13_only(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1
        && SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1;
}

// Partial writes (SSL_write returns after each record) and a write buffer that may move between retries.
static inline long hl_ssl_ctx_enable_partial_moving_writes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

// No session cache: every connection is a full handshake with certificates (resumption would skip pinning).
static inline long hl_ssl_ctx_disable_session_cache(SSL_CTX *context) {
    return SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
}

#endif
