/*
 * An OTR peer on libotr 4.1.x for blink-tui's interoperability tests and benchmarks.
 *
 *   libotr-peer peer                      JSON lines on stdin (commands) and stdout (events);
 *                                         the protocol is documented in README.md next to this file.
 *   libotr-peer bench <op> <n> <keydir>   runs both OTR parties in this process and prints one JSON
 *                                         line with the wall time; op is keygen, ake, msg or smp.
 *   libotr-peer version                   prints libotr's run-time version.
 *
 * Build: gcc -O2 -o libotr-peer libotr-peer.c -lotr -lgcrypt
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>
#include <libotr/proto.h>
#include <libotr/context.h>
#include <libotr/message.h>
#include <libotr/privkey.h>
#include <libotr/instag.h>
#include <libotr/userstate.h>
#include <libotr/tlv.h>
#include <libotr/version.h>

/* ------------------------------------------------------------------ small JSON helpers */

/* Commands are flat objects whose values are strings, numbers, booleans or null: that is all the
 * driver ever sends, so a full JSON parser would only add surface. */
#define MAX_FIELDS 16
typedef struct {
    char *key[MAX_FIELDS];
    char *str[MAX_FIELDS]; /* decoded string value, or the literal text of a number/bool/null */
    int is_string[MAX_FIELDS];
    int n;
} JsonObj;

static void json_free(JsonObj *o) {
    for (int i = 0; i < o->n; i++) { free(o->key[i]); free(o->str[i]); }
    o->n = 0;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

static void put_utf8(char **out, unsigned long cp) {
    unsigned char *o = (unsigned char *)*out;
    if (cp < 0x80) { *o++ = (unsigned char)cp; }
    else if (cp < 0x800) { *o++ = 0xC0 | (cp >> 6); *o++ = 0x80 | (cp & 0x3F); }
    else if (cp < 0x10000) { *o++ = 0xE0 | (cp >> 12); *o++ = 0x80 | ((cp >> 6) & 0x3F); *o++ = 0x80 | (cp & 0x3F); }
    else { *o++ = 0xF0 | (cp >> 18); *o++ = 0x80 | ((cp >> 12) & 0x3F); *o++ = 0x80 | ((cp >> 6) & 0x3F); *o++ = 0x80 | (cp & 0x3F); }
    *out = (char *)o;
}

static int hex4(const char *p, unsigned long *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') *v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *v |= (unsigned long)(c - 'A' + 10);
        else return -1;
    }
    return 0;
}

/* Parses a JSON string starting at the opening quote; returns a malloc'd UTF-8 copy. */
static char *parse_string(const char **pp) {
    const char *p = *pp;
    if (*p != '"') return NULL;
    p++;
    size_t cap = strlen(p) * 2 + 8; /* \uXXXX (6 bytes) never decodes to more than 4 */
    char *buf = malloc(cap), *o = buf;
    if (!buf) return NULL;
    while (*p && *p != '"') {
        if (*p == '\\') {
            p++;
            switch (*p) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                unsigned long cp;
                if (hex4(p + 1, &cp)) { free(buf); return NULL; }
                p += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                    unsigned long lo;
                    if (hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                }
                put_utf8(&o, cp);
                break;
            }
            default: free(buf); return NULL;
            }
            p++;
        } else {
            *o++ = *p++;
        }
    }
    if (*p != '"') { free(buf); return NULL; }
    *o = '\0';
    *pp = p + 1;
    return buf;
}

static int json_parse(const char *line, JsonObj *o) {
    o->n = 0;
    const char *p = skip_ws(line);
    if (*p++ != '{') return -1;
    p = skip_ws(p);
    if (*p == '}') return 0;
    for (;;) {
        if (o->n >= MAX_FIELDS) return -1;
        p = skip_ws(p);
        char *k = parse_string(&p);
        if (!k) return -1;
        p = skip_ws(p);
        if (*p++ != ':') { free(k); return -1; }
        p = skip_ws(p);
        char *v;
        int isstr = 0;
        if (*p == '"') {
            v = parse_string(&p);
            isstr = 1;
        } else {
            const char *s = p;
            while (*p && *p != ',' && *p != '}' && *p != ' ') p++;
            v = strndup(s, (size_t)(p - s));
        }
        if (!v) { free(k); return -1; }
        o->key[o->n] = k; o->str[o->n] = v; o->is_string[o->n] = isstr; o->n++;
        p = skip_ws(p);
        if (*p == ',') { p++; continue; }
        if (*p == '}') return 0;
        return -1;
    }
}

static const char *json_get(const JsonObj *o, const char *key) {
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->key[i], key) == 0 && (o->is_string[i] || strcmp(o->str[i], "null") != 0)) return o->str[i];
    return NULL;
}

static long json_get_long(const JsonObj *o, const char *key, long dflt) {
    const char *v = json_get(o, key);
    return v ? strtol(v, NULL, 10) : dflt;
}

static void json_put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* ------------------------------------------------------------------ one OTR party */

typedef struct Party Party;
struct Party {
    OtrlUserState us;
    char account[128];
    char peer[128];
    char protocol[32];
    OtrlPolicy policy;
    int mms;              /* max_message_size; 0 = never fragment */
    char instag_file[512];
    /* bench mode: messages libotr injects are queued for the other party instead of printed */
    Party *other;
    char **inbox;
    size_t inbox_len, inbox_cap;
    /* observations made by callbacks */
    ConnContext *cur;     /* the context of the conversation (a v3 child once the peer's tag is known) */
    int decrypted;        /* convert_msg(RECEIVING) ran: the last received message was a data message */
    ConnContext *abort_smp_ctx; /* libotr asks the application to abort after a cheated/error SMP event */
    int smp_result;       /* bench mode: 1 success, -1 failure/abort, 0 running */
    int last_state, last_version; /* the last state event printed */
    char last_fp[41];
};

static int bench_mode = 0;

static void emit_begin(const char *ev) { fputs("{\"ev\":", stdout); json_put_string(stdout, ev); }
static void emit_end(void) { fputs("}\n", stdout); fflush(stdout); }

static void emit_error(const char *msg) {
    emit_begin("error");
    fputs(",\"message\":", stdout); json_put_string(stdout, msg);
    emit_end();
}

static void hex_fp(const unsigned char fp[20], char out[41]) {
    for (int i = 0; i < 20; i++) sprintf(out + 2 * i, "%02X", fp[i]);
    out[40] = '\0';
}

static void queue_push(Party *p, const char *msg) {
    if (p->inbox_len == p->inbox_cap) {
        p->inbox_cap = p->inbox_cap ? p->inbox_cap * 2 : 16;
        p->inbox = realloc(p->inbox, p->inbox_cap * sizeof(char *));
        if (!p->inbox) { perror("realloc"); exit(2); }
    }
    p->inbox[p->inbox_len++] = strdup(msg);
}

static void note_context(Party *p, ConnContext *ctx) {
    if (ctx) p->cur = ctx;
}

/* libotr ui ops ------------------------------------------------------------------ */

static OtrlPolicy op_policy(void *opdata, ConnContext *context) {
    (void)context;
    return ((Party *)opdata)->policy;
}

static void op_create_privkey(void *opdata, const char *accountname, const char *protocol) {
    /* Keys are loaded before any message flows; reaching this means the key file did not match. */
    (void)opdata;
    fprintf(stderr, "libotr-peer: no private key for %s/%s\n", accountname, protocol);
}

static int op_is_logged_in(void *opdata, const char *accountname, const char *protocol, const char *recipient) {
    (void)opdata; (void)accountname; (void)protocol; (void)recipient;
    return 1; /* the driver is always listening; libotr only sends the disconnect TLV when this is 1 */
}

static void op_inject(void *opdata, const char *accountname, const char *protocol, const char *recipient,
                      const char *message) {
    Party *p = opdata;
    (void)accountname; (void)protocol; (void)recipient;
    /* sending in the FINISHED state makes libotr inject an empty message; no IM client transmits that */
    if (!message || !*message) return;
    if (bench_mode) { queue_push(p->other, message); return; }
    emit_begin("wire");
    fputs(",\"wire\":", stdout); json_put_string(stdout, message);
    emit_end();
}

static void op_update_context_list(void *opdata) { (void)opdata; }

static void put_hex(const unsigned char *b, size_t n) {
    fputc('"', stdout);
    for (size_t i = 0; i < n; i++) fprintf(stdout, "%02X", b[i]);
    fputc('"', stdout);
}

static void op_received_symkey(void *opdata, ConnContext *context, unsigned int use, const unsigned char *usedata,
                               size_t usedatalen, const unsigned char *symkey) {
    note_context(opdata, context);
    if (bench_mode) return;
    emit_begin("symkey");
    fprintf(stdout, ",\"use\":%u,\"usedata\":", use);
    put_hex(usedata, usedatalen);
    fputs(",\"key\":", stdout);
    put_hex(symkey, OTRL_EXTRAKEY_BYTES);
    emit_end();
}

static void op_new_fingerprint(void *opdata, OtrlUserState us, const char *accountname, const char *protocol,
                               const char *username, unsigned char fingerprint[20]) {
    (void)us; (void)accountname; (void)protocol; (void)username;
    if (bench_mode) return;
    (void)opdata;
    char hex[41];
    hex_fp(fingerprint, hex);
    emit_begin("new_fingerprint");
    fputs(",\"fingerprint\":", stdout); json_put_string(stdout, hex);
    emit_end();
}

static void op_write_fingerprints(void *opdata) { (void)opdata; }

static void op_gone_secure(void *opdata, ConnContext *context) { note_context(opdata, context); }
static void op_gone_insecure(void *opdata, ConnContext *context) { note_context(opdata, context); }

static void op_still_secure(void *opdata, ConnContext *context, int is_reply) {
    (void)is_reply;
    note_context(opdata, context);
    if (bench_mode) return;
    emit_begin("still_secure");
    emit_end();
}

static int op_max_message_size(void *opdata, ConnContext *context) {
    (void)context;
    return ((Party *)opdata)->mms;
}

static const char *op_account_name(void *opdata, const char *account, const char *protocol) {
    (void)opdata; (void)protocol;
    return strdup(account);
}

static void op_account_name_free(void *opdata, const char *account_name) {
    (void)opdata;
    free((char *)account_name);
}

static const char *op_otr_error_message(void *opdata, ConnContext *context, OtrlErrorCode code) {
    (void)opdata; (void)context;
    switch (code) {
    case OTRL_ERRCODE_ENCRYPTION_ERROR: return strdup("Error occurred encrypting message.");
    case OTRL_ERRCODE_MSG_NOT_IN_PRIVATE: return strdup("You sent encrypted data to a peer who was not expecting it.");
    case OTRL_ERRCODE_MSG_UNREADABLE: return strdup("You transmitted an unreadable encrypted message.");
    case OTRL_ERRCODE_MSG_MALFORMED: return strdup("You transmitted a malformed data message.");
    default: return strdup("Unknown error.");
    }
}

static void op_otr_error_message_free(void *opdata, const char *err_msg) {
    (void)opdata;
    free((char *)err_msg);
}

static const char *smp_event_name(OtrlSMPEvent e) {
    switch (e) {
    case OTRL_SMPEVENT_ASK_FOR_SECRET:
    case OTRL_SMPEVENT_ASK_FOR_ANSWER: return "asked";
    case OTRL_SMPEVENT_SUCCESS: return "success";
    case OTRL_SMPEVENT_FAILURE: return "failure";
    case OTRL_SMPEVENT_ABORT: return "aborted";
    case OTRL_SMPEVENT_CHEATED: return "cheated";
    case OTRL_SMPEVENT_ERROR: return "error";
    case OTRL_SMPEVENT_IN_PROGRESS: return "in_progress";
    default: return "none";
    }
}

static void op_handle_smp_event(void *opdata, OtrlSMPEvent e, ConnContext *context, unsigned short progress,
                                char *question) {
    Party *p = opdata;
    note_context(p, context);
    if (e == OTRL_SMPEVENT_CHEATED || e == OTRL_SMPEVENT_ERROR) p->abort_smp_ctx = context;
    if (bench_mode) {
        if (e == OTRL_SMPEVENT_SUCCESS) p->smp_result = 1;
        else if (e == OTRL_SMPEVENT_FAILURE || e == OTRL_SMPEVENT_ABORT || e == OTRL_SMPEVENT_CHEATED ||
                 e == OTRL_SMPEVENT_ERROR) p->smp_result = -1;
        return;
    }
    emit_begin("smp");
    fputs(",\"event\":", stdout); json_put_string(stdout, smp_event_name(e));
    fprintf(stdout, ",\"progress\":%u", progress);
    if (e == OTRL_SMPEVENT_ASK_FOR_ANSWER && question) {
        fputs(",\"question\":", stdout); json_put_string(stdout, question);
    }
    emit_end();
}

static const char *msg_event_name(OtrlMessageEvent e) {
    switch (e) {
    case OTRL_MSGEVENT_ENCRYPTION_REQUIRED: return "encryption_required";
    case OTRL_MSGEVENT_ENCRYPTION_ERROR: return "encryption_error";
    case OTRL_MSGEVENT_CONNECTION_ENDED: return "connection_ended";
    case OTRL_MSGEVENT_SETUP_ERROR: return "setup_error";
    case OTRL_MSGEVENT_MSG_REFLECTED: return "msg_reflected";
    case OTRL_MSGEVENT_MSG_RESENT: return "msg_resent";
    case OTRL_MSGEVENT_RCVDMSG_NOT_IN_PRIVATE: return "rcvdmsg_not_in_private";
    case OTRL_MSGEVENT_RCVDMSG_UNREADABLE: return "rcvdmsg_unreadable";
    case OTRL_MSGEVENT_RCVDMSG_MALFORMED: return "rcvdmsg_malformed";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD: return "heartbeat_rcvd";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_SENT: return "heartbeat_sent";
    case OTRL_MSGEVENT_RCVDMSG_GENERAL_ERR: return "rcvdmsg_general_err";
    case OTRL_MSGEVENT_RCVDMSG_UNENCRYPTED: return "rcvdmsg_unencrypted";
    case OTRL_MSGEVENT_RCVDMSG_UNRECOGNIZED: return "rcvdmsg_unrecognized";
    case OTRL_MSGEVENT_RCVDMSG_FOR_OTHER_INSTANCE: return "rcvdmsg_for_other_instance";
    default: return "none";
    }
}

static void op_handle_msg_event(void *opdata, OtrlMessageEvent e, ConnContext *context, const char *message,
                                gcry_error_t err) {
    note_context(opdata, context);
    if (bench_mode) {
        if (e != OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD && e != OTRL_MSGEVENT_LOG_HEARTBEAT_SENT)
            fprintf(stderr, "libotr-peer bench: unexpected event %s\n", msg_event_name(e));
        return;
    }
    emit_begin("otr_event");
    fputs(",\"name\":", stdout); json_put_string(stdout, msg_event_name(e));
    if (message) { fputs(",\"message\":", stdout); json_put_string(stdout, message); }
    if (err) { fputs(",\"gcry\":", stdout); json_put_string(stdout, gcry_strerror(err)); }
    emit_end();
}

/* libotr insists on writing the tag to a file; the userstate keeps it in memory, so the file goes at once. */
static gcry_error_t make_instag(Party *p, const char *accountname, const char *protocol) {
    gcry_error_t err = otrl_instag_generate(p->us, p->instag_file, accountname, protocol);
    unlink(p->instag_file);
    return err;
}

static void op_create_instag(void *opdata, const char *accountname, const char *protocol) {
    make_instag(opdata, accountname, protocol);
}

static void op_convert_msg(void *opdata, ConnContext *context, OtrlConvertType type, char **dest, const char *src) {
    (void)context; (void)src;
    /* Only called for decrypted data messages on receipt: the one reliable "this was encrypted" signal. */
    if (type == OTRL_CONVERT_RECEIVING) ((Party *)opdata)->decrypted = 1;
    *dest = NULL;
}

static void op_convert_free(void *opdata, ConnContext *context, char *dest) {
    (void)opdata; (void)context;
    free(dest);
}

static void op_timer_control(void *opdata, unsigned int interval) { (void)opdata; (void)interval; }

static OtrlMessageAppOps ui_ops = {
    op_policy, op_create_privkey, op_is_logged_in, op_inject, op_update_context_list, op_new_fingerprint,
    op_write_fingerprints, op_gone_secure, op_gone_insecure, op_still_secure, op_max_message_size,
    op_account_name, op_account_name_free, op_received_symkey, op_otr_error_message,
    op_otr_error_message_free, NULL /* resent_msg_prefix */, NULL, op_handle_smp_event, op_handle_msg_event,
    op_create_instag, op_convert_msg, op_convert_free, op_timer_control,
};

/* ------------------------------------------------------------------ party setup */

static int parse_policy(const char *s, OtrlPolicy *out) {
    if (!s || strcmp(s, "opportunistic") == 0) { *out = OTRL_POLICY_OPPORTUNISTIC; return 0; }
    if (strcmp(s, "manual") == 0) { *out = OTRL_POLICY_MANUAL; return 0; }
    if (strcmp(s, "always") == 0) { *out = OTRL_POLICY_ALWAYS; return 0; }
    if (strcmp(s, "never") == 0) { *out = OTRL_POLICY_NEVER; return 0; }
    /* otherwise a comma-separated list of flag names */
    OtrlPolicy pol = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "ALLOW_V2") == 0) pol |= OTRL_POLICY_ALLOW_V2;
        else if (strcmp(t, "ALLOW_V3") == 0) pol |= OTRL_POLICY_ALLOW_V3;
        else if (strcmp(t, "REQUIRE_ENCRYPTION") == 0) pol |= OTRL_POLICY_REQUIRE_ENCRYPTION;
        else if (strcmp(t, "SEND_WHITESPACE_TAG") == 0) pol |= OTRL_POLICY_SEND_WHITESPACE_TAG;
        else if (strcmp(t, "WHITESPACE_START_AKE") == 0) pol |= OTRL_POLICY_WHITESPACE_START_AKE;
        else if (strcmp(t, "ERROR_START_AKE") == 0) pol |= OTRL_POLICY_ERROR_START_AKE;
        else { free(copy); return -1; }
    }
    free(copy);
    *out = pol;
    return 0;
}

/* Loads the account's key from keyfile, generating it there first if absent. Generation goes to a
 * private temporary file renamed into place, so test processes running in parallel never read half a file. */
static gcry_error_t load_or_generate_key(Party *p, const char *keyfile) {
    gcry_error_t err = otrl_privkey_read(p->us, keyfile);
    if (!err && otrl_privkey_find(p->us, p->account, p->protocol)) return 0;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", keyfile, (long)getpid());
    OtrlUserState gen = otrl_userstate_create();
    err = otrl_privkey_generate(gen, tmp, p->account, p->protocol);
    otrl_userstate_free(gen);
    if (err) return err;
    if (rename(tmp, keyfile) != 0) { unlink(tmp); return gcry_error_from_errno(errno); }
    err = otrl_privkey_read(p->us, keyfile);
    if (!err && !otrl_privkey_find(p->us, p->account, p->protocol)) err = gcry_error(GPG_ERR_NO_SECKEY);
    return err;
}

static void party_init(Party *p, const char *account, const char *peer, const char *protocol, OtrlPolicy policy,
                       int mms) {
    memset(p, 0, sizeof *p);
    p->us = otrl_userstate_create();
    snprintf(p->account, sizeof p->account, "%s", account);
    snprintf(p->peer, sizeof p->peer, "%s", peer);
    snprintf(p->protocol, sizeof p->protocol, "%s", protocol);
    p->policy = policy;
    p->mms = mms;
    p->last_state = -1;
    snprintf(p->instag_file, sizeof p->instag_file, "/tmp/libotr-peer-%ld-%p.instag", (long)getpid(), (void *)p);
}

static void party_cleanup(Party *p) {
    for (size_t i = 0; i < p->inbox_len; i++) free(p->inbox[i]);
    free(p->inbox);
    otrl_userstate_free(p->us);
}

/* Sends text (or an empty message carrying only TLVs) the way an IM client does: libotr injects what
 * it produced (fragments included); an untouched plaintext is ours to send. */
static gcry_error_t party_send(Party *p, const char *text) {
    char *newmsg = NULL;
    ConnContext *ctx = NULL;
    gcry_error_t err = otrl_message_sending(p->us, &ui_ops, p, p->account, p->protocol, p->peer, OTRL_INSTAG_BEST,
                                            text, NULL, &newmsg, OTRL_FRAGMENT_SEND_ALL, &ctx, NULL, NULL);
    note_context(p, ctx);
    if (!err && !newmsg) op_inject(p, p->account, p->protocol, p->peer, text);
    if (newmsg) otrl_message_free(newmsg);
    return err;
}

/* Returns the decrypted/plain text to show, or NULL; *encrypted tells which. */
static char *party_receive(Party *p, const char *wire, int *encrypted, int *shown) {
    char *newmsg = NULL;
    OtrlTLV *tlvs = NULL;
    ConnContext *ctx = NULL;
    p->decrypted = 0;
    int ignore = otrl_message_receiving(p->us, &ui_ops, p, p->account, p->protocol, p->peer, wire, &newmsg, &tlvs,
                                        &ctx, NULL, NULL);
    note_context(p, ctx);
    if (tlvs) otrl_tlv_free(tlvs);
    if (p->abort_smp_ctx) {
        ConnContext *c = p->abort_smp_ctx;
        p->abort_smp_ctx = NULL;
        otrl_message_abort_smp(p->us, &ui_ops, p, c);
    }
    *encrypted = p->decrypted;
    *shown = !ignore;
    if (ignore) { if (newmsg) otrl_message_free(newmsg); return NULL; }
    if (newmsg) return newmsg;
    return strdup(wire);
}

static const char *state_name(OtrlMessageState s) {
    switch (s) {
    case OTRL_MSGSTATE_ENCRYPTED: return "encrypted";
    case OTRL_MSGSTATE_FINISHED: return "finished";
    default: return "plaintext";
    }
}

/* libotr has no callback for every state change (a received disconnect TLV is silent), so the state is
 * compared with the last one reported after each command. */
static void report_state(Party *p, int force) {
    ConnContext *c = p->cur;
    int st = c ? (int)c->msgstate : (int)OTRL_MSGSTATE_PLAINTEXT;
    int ver = (c && c->msgstate == OTRL_MSGSTATE_ENCRYPTED) ? (int)c->protocol_version : 0;
    char fp[41] = "";
    if (c && c->active_fingerprint && c->active_fingerprint->fingerprint && st == OTRL_MSGSTATE_ENCRYPTED)
        hex_fp(c->active_fingerprint->fingerprint, fp);
    if (!force && st == p->last_state && ver == p->last_version && strcmp(fp, p->last_fp) == 0) return;
    p->last_state = st;
    p->last_version = ver;
    memcpy(p->last_fp, fp, sizeof fp);
    emit_begin("state");
    fputs(",\"state\":", stdout); json_put_string(stdout, state_name((OtrlMessageState)st));
    if (ver) fprintf(stdout, ",\"version\":%d", ver); else fputs(",\"version\":null", stdout);
    if (fp[0]) { fputs(",\"fingerprint\":", stdout); json_put_string(stdout, fp); }
    else fputs(",\"fingerprint\":null", stdout);
    if (c) fprintf(stdout, ",\"their_instance\":%u", (unsigned)c->their_instance);
    emit_end();
}

static void our_fingerprint(Party *p, char out[41]) {
    char human[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
    out[0] = '\0';
    if (!otrl_privkey_fingerprint(p->us, human, p->account, p->protocol)) return;
    int j = 0;
    for (int i = 0; human[i] && j < 40; i++) if (human[i] != ' ') out[j++] = (char)(human[i] >= 'a' && human[i] <= 'f' ? human[i] - 32 : human[i]);
    out[j] = '\0';
}

/* ------------------------------------------------------------------ peer mode */

static int run_peer(void) {
    Party party;
    int ready = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        JsonObj cmd;
        if (json_parse(line, &cmd) != 0) { emit_error("bad JSON command"); json_free(&cmd); continue; }
        const char *op = json_get(&cmd, "op");
        const char *id = json_get(&cmd, "id");
        if (!op) { emit_error("missing op"); json_free(&cmd); continue; }
        if (strcmp(op, "quit") == 0) { json_free(&cmd); break; }
        if (strcmp(op, "init") == 0) {
            OtrlPolicy pol;
            const char *keyfile = json_get(&cmd, "keyfile");
            if (ready) emit_error("already initialised");
            else if (parse_policy(json_get(&cmd, "policy"), &pol)) emit_error("bad policy");
            else if (!keyfile) emit_error("init needs keyfile");
            else {
                party_init(&party, json_get(&cmd, "account") ? json_get(&cmd, "account") : "libotr@test",
                           json_get(&cmd, "peer") ? json_get(&cmd, "peer") : "peer@test",
                           json_get(&cmd, "protocol") ? json_get(&cmd, "protocol") : "xmpp", pol,
                           (int)json_get_long(&cmd, "fragment_size", 0));
                gcry_error_t err = load_or_generate_key(&party, keyfile);
                if (!err) err = make_instag(&party, party.account, party.protocol);
                if (err) {
                    emit_error(gcry_strerror(err));
                } else {
                    char fp[41];
                    our_fingerprint(&party, fp);
                    OtrlInsTag *tag = otrl_instag_find(party.us, party.account, party.protocol);
                    ready = 1;
                    emit_begin("ready");
                    fputs(",\"fingerprint\":", stdout); json_put_string(stdout, fp);
                    fprintf(stdout, ",\"instance_tag\":%u", tag ? (unsigned)tag->instag : 0u);
                    fputs(",\"library\":\"libotr\",\"version\":", stdout); json_put_string(stdout, otrl_version());
                    emit_end();
                }
            }
        } else if (!ready) {
            emit_error("init first");
        } else if (strcmp(op, "recv") == 0) {
            const char *wire = json_get(&cmd, "wire");
            if (!wire) emit_error("recv needs wire");
            else {
                int enc = 0, shown = 0;
                char *text = party_receive(&party, wire, &enc, &shown);
                if (text && shown) {
                    emit_begin("message");
                    fputs(",\"text\":", stdout); json_put_string(stdout, text);
                    fprintf(stdout, ",\"encrypted\":%s", enc ? "true" : "false");
                    emit_end();
                }
                free(text);
            }
        } else if (strcmp(op, "send") == 0) {
            const char *text = json_get(&cmd, "text");
            if (!text) emit_error("send needs text");
            else {
                gcry_error_t err = party_send(&party, text);
                if (err) emit_error(gcry_strerror(err));
            }
        } else if (strcmp(op, "start") == 0) {
            char *q = otrl_proto_default_query_msg(party.account, party.policy);
            if (q) { op_inject(&party, party.account, party.protocol, party.peer, q); free(q); }
        } else if (strcmp(op, "end") == 0) {
            otrl_instag_t inst = party.cur ? party.cur->their_instance : OTRL_INSTAG_BEST;
            otrl_message_disconnect(party.us, &ui_ops, &party, party.account, party.protocol, party.peer, inst);
        } else if (strcmp(op, "smp") == 0 || strcmp(op, "smp_respond") == 0) {
            const char *secret = json_get(&cmd, "secret");
            const char *question = json_get(&cmd, "question");
            if (!secret) emit_error("smp needs secret");
            else if (!party.cur || party.cur->msgstate != OTRL_MSGSTATE_ENCRYPTED) emit_error("not encrypted");
            else if (strcmp(op, "smp_respond") == 0)
                otrl_message_respond_smp(party.us, &ui_ops, &party, party.cur, (const unsigned char *)secret,
                                         strlen(secret));
            else if (question)
                otrl_message_initiate_smp_q(party.us, &ui_ops, &party, party.cur, question,
                                            (const unsigned char *)secret, strlen(secret));
            else
                otrl_message_initiate_smp(party.us, &ui_ops, &party, party.cur, (const unsigned char *)secret,
                                          strlen(secret));
        } else if (strcmp(op, "symkey") == 0) {
            /* announce use of the extra symmetric key (TLV 8); usedata is sent as the given UTF-8 text */
            const char *usedata = json_get(&cmd, "usedata");
            unsigned char key[OTRL_EXTRAKEY_BYTES];
            if (!party.cur || party.cur->msgstate != OTRL_MSGSTATE_ENCRYPTED) emit_error("not encrypted");
            else {
                gcry_error_t err = otrl_message_symkey(party.us, &ui_ops, &party, party.cur,
                                                       (unsigned int)json_get_long(&cmd, "use", 0),
                                                       (const unsigned char *)(usedata ? usedata : ""),
                                                       usedata ? strlen(usedata) : 0, key);
                if (err) emit_error(gcry_strerror(err));
                else {
                    emit_begin("symkey_sent");
                    fputs(",\"key\":", stdout);
                    put_hex(key, sizeof key);
                    emit_end();
                }
            }
        } else if (strcmp(op, "smp_abort") == 0) {
            if (party.cur) otrl_message_abort_smp(party.us, &ui_ops, &party, party.cur);
        } else if (strcmp(op, "fingerprint") == 0) {
            char fp[41];
            our_fingerprint(&party, fp);
            emit_begin("fingerprint");
            fputs(",\"ours\":", stdout); json_put_string(stdout, fp);
            if (party.cur && party.cur->active_fingerprint && party.cur->active_fingerprint->fingerprint) {
                char theirs[41];
                hex_fp(party.cur->active_fingerprint->fingerprint, theirs);
                fputs(",\"theirs\":", stdout); json_put_string(stdout, theirs);
            } else {
                fputs(",\"theirs\":null", stdout);
            }
            emit_end();
        } else if (strcmp(op, "status") == 0) {
            report_state(&party, 1);
        } else {
            emit_error("unknown op");
        }
        if (ready) report_state(&party, 0);
        emit_begin("done");
        fputs(",\"op\":", stdout); json_put_string(stdout, op);
        if (id) { fputs(",\"id\":", stdout); json_put_string(stdout, id); }
        emit_end();
        json_free(&cmd);
    }
    free(line);
    if (ready) party_cleanup(&party);
    return 0;
}

/* ------------------------------------------------------------------ bench mode */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Delivers queued messages both ways until both inboxes are empty. */
static int pump(Party *a, Party *b) {
    int rounds = 0;
    while (a->inbox_len || b->inbox_len) {
        if (++rounds > 10000) return -1;
        Party *sides[2] = { a, b };
        for (int s = 0; s < 2; s++) {
            Party *p = sides[s];
            size_t n = p->inbox_len;
            char **batch = p->inbox;
            p->inbox = NULL; p->inbox_len = 0; p->inbox_cap = 0;
            for (size_t i = 0; i < n; i++) {
                int enc, shown;
                char *t = party_receive(p, batch[i], &enc, &shown);
                free(t);
                free(batch[i]);
            }
            free(batch);
        }
    }
    return 0;
}

static int encrypted(Party *p) { return p->cur && p->cur->msgstate == OTRL_MSGSTATE_ENCRYPTED; }

static int bench_ake(Party *a, Party *b) {
    otrl_context_forget_all(a->us);
    otrl_context_forget_all(b->us);
    a->cur = b->cur = NULL;
    char *q = otrl_proto_default_query_msg(a->account, a->policy);
    queue_push(b, q);
    free(q);
    if (pump(a, b) || !encrypted(a) || !encrypted(b)) return -1;
    return 0;
}

static int run_bench(const char *what, long n, const char *keydir) {
    bench_mode = 1;
    if (n < 1) n = 1;
    char keyfile[600];
    Party a, b;
    party_init(&a, "alice@bench", "bob@bench", "bench", OTRL_POLICY_MANUAL, 0);
    party_init(&b, "bob@bench", "alice@bench", "bench", OTRL_POLICY_MANUAL, 0);
    a.other = &b;
    b.other = &a;
    double t0, t1;
    int fail = 0;
    if (strcmp(what, "keygen") == 0) {
        t0 = now_ms();
        for (long i = 0; i < n && !fail; i++) {
            snprintf(keyfile, sizeof keyfile, "%s/keygen-%ld-%ld.key", keydir, (long)getpid(), i);
            OtrlUserState us = otrl_userstate_create();
            if (otrl_privkey_generate(us, keyfile, "gen@bench", "bench")) fail = 1;
            otrl_userstate_free(us);
            unlink(keyfile);
        }
        t1 = now_ms();
    } else {
        snprintf(keyfile, sizeof keyfile, "%s/libotr-alice.key", keydir);
        if (load_or_generate_key(&a, keyfile)) { fprintf(stderr, "key alice failed\n"); return 1; }
        snprintf(keyfile, sizeof keyfile, "%s/libotr-bob.key", keydir);
        if (load_or_generate_key(&b, keyfile)) { fprintf(stderr, "key bob failed\n"); return 1; }
        make_instag(&a, a.account, a.protocol);
        make_instag(&b, b.account, b.protocol);
        if (strcmp(what, "ake") == 0) {
            t0 = now_ms();
            for (long i = 0; i < n && !fail; i++) if (bench_ake(&a, &b)) fail = 1;
            t1 = now_ms();
        } else if (strcmp(what, "msg") == 0) {
            if (bench_ake(&a, &b)) { fprintf(stderr, "AKE failed\n"); return 1; }
            char text[1025];
            for (int i = 0; i < 1024; i++) text[i] = (char)('a' + i % 26);
            text[1024] = '\0';
            t0 = now_ms();
            for (long i = 0; i < n && !fail; i++) {
                /* 50 messages one way, then 50 back: keys rotate at each turn, as in a conversation */
                Party *from = ((i / 50) % 2) ? &b : &a;
                if (party_send(from, text)) fail = 1;
                if (from->other->inbox_len != 1) fail = 1;
                char *wire = from->other->inbox[0];
                from->other->inbox_len = 0;
                int enc, shown;
                char *got = party_receive(from->other, wire, &enc, &shown);
                if (!got || !enc || strcmp(got, text) != 0) fail = 1;
                free(got);
                free(wire);
                pump(&a, &b);
            }
            t1 = now_ms();
        } else if (strcmp(what, "smp") == 0) {
            if (bench_ake(&a, &b)) { fprintf(stderr, "AKE failed\n"); return 1; }
            const unsigned char secret[] = "correct horse battery staple";
            t0 = now_ms();
            for (long i = 0; i < n && !fail; i++) {
                a.smp_result = b.smp_result = 0;
                otrl_message_initiate_smp(a.us, &ui_ops, &a, a.cur, secret, sizeof secret - 1);
                pump(&a, &b); /* b is now asked for the secret */
                otrl_message_respond_smp(b.us, &ui_ops, &b, b.cur, secret, sizeof secret - 1);
                pump(&a, &b);
                if (a.smp_result != 1 || b.smp_result != 1) fail = 1;
            }
            t1 = now_ms();
        } else {
            fprintf(stderr, "unknown bench op %s\n", what);
            return 2;
        }
    }
    printf("{\"library\":\"libotr\",\"version\":\"%s\",\"op\":\"%s\",\"iterations\":%ld,\"total_ms\":%.3f,\"ok\":%s}\n",
           otrl_version(), what, n, t1 - t0, fail ? "false" : "true");
    party_cleanup(&a);
    party_cleanup(&b);
    return fail ? 1 : 0;
}

int main(int argc, char **argv) {
    OTRL_INIT;
    if (argc >= 2 && strcmp(argv[1], "version") == 0) { printf("%s\n", otrl_version()); return 0; }
    if (argc >= 2 && strcmp(argv[1], "peer") == 0) return run_peer();
    if (argc >= 5 && strcmp(argv[1], "bench") == 0) return run_bench(argv[2], strtol(argv[3], NULL, 10), argv[4]);
    fprintf(stderr, "usage: %s peer | bench <keygen|ake|msg|smp> <iterations> <keydir> | version\n", argv[0]);
    return 2;
}
