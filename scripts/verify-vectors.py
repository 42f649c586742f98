#!/usr/bin/env python3
"""Independent check of HealthLedger's test vectors, written from docs/FORMAT.md and docs/GENESIS.md alone.

It shares no code with the Swift implementation. From the files in Tests/LedgerTests/Vectors/ and
genesis/example.json it re-derives identity text forms, decodes every structure strictly, recomputes
transaction ids, entry leaf hashes, Merkle roots and inclusion proofs, the genesis and validator-set hashes,
block hashes and votes, verifies every Ed25519 signature and certificate, and replays the five-block chain
through the execution and policy rules, re-deriving every access outcome and checking every service result.
It then checks that each ServiceResult rule (FORMAT.md 8.3) rejects what it should against the replayed state.

Usage: scripts/verify-vectors.py [repository root]      (needs Python 3.9+ and the `cryptography` package)
Exit status 0 when every check passes, 1 when one fails, 2 for a usage error.
"""
import base64
import calendar
import copy
import hashlib
import json
import os
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def sha256(data):
    return hashlib.sha256(data).digest()


class Invalid(Exception):
    pass


# ---------------------------------------------------------------- canonical decoding (FORMAT.md section 2)

class Reader:
    def __init__(self, data):
        self.data, self.pos = bytes(data), 0

    def take(self, n, field):
        if self.pos + n > len(self.data):
            raise Invalid("truncated in " + field)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, size, field):
        return int.from_bytes(self.take(size, field), "big")

    def u8(self, f): return self.uint(1, f)
    def u16(self, f): return self.uint(2, f)
    def u32(self, f): return self.uint(4, f)
    def u64(self, f): return self.uint(8, f)

    def flag(self, field):
        v = self.u8(field)
        if v not in (0, 1):
            raise Invalid(field + ": flag must be 0 or 1")
        return v == 1

    def string(self, field, max_bytes):
        n = self.u16(field + " length")
        if n > max_bytes:
            raise Invalid(field + ": too long")
        return self.take(n, field).decode("utf-8")  # strict: raises on invalid UTF-8

    def count(self, field, max_count):
        n = self.u32(field + " count")
        if n > max_count:
            raise Invalid(field + ": too many")
        return n

    def optional(self, field, read):
        return read() if self.flag(field + " presence") else None

    def tag(self, expected):
        if self.string("domain tag", 64) != expected:
            raise Invalid("wrong domain tag, expected " + expected)

    def version(self, supported, structure):
        if self.u8(structure + " version") != supported:
            raise Invalid(structure + ": unsupported version")

    def finish(self):
        if self.pos != len(self.data):
            raise Invalid("%d trailing bytes" % (len(self.data) - self.pos))


CODES = {  # restricted codes (FORMAT.md section 2.3): kind -> (max bytes, full-match pattern)
    "chain id": (64, r"[a-z0-9][a-z0-9.\-]*"),
    "organisation id": (64, r"[a-z0-9][a-z0-9\-]*"),
    "practitioner role": (32, r"[a-z0-9][a-z0-9\-]*"),
    "purpose code": (16, r"[A-Z]+"),
    "record type": (64, r"[A-Z][A-Za-z]*"),
    "model id": (64, r"[a-z0-9][a-z0-9.\-]*"),
}


def code(r, kind):
    max_bytes, pattern = CODES[kind]
    value = r.string(kind, max_bytes)
    if not re.fullmatch(pattern, value, re.ASCII):
        raise Invalid(kind + ": characters or length not allowed")
    return value


def strictly_increasing(items):
    return all(a < b for a, b in zip(items, items[1:]))


def read_selector(r):
    kind = r.u8("selector kind")
    if kind == 0:
        return ("all", None)
    if kind == 1:
        items = [code(r, "record type") for _ in range(r.count("record types", 32))]
        key = lambda t: t.encode()
    elif kind == 2:
        items = [r.take(16, "record id") for _ in range(r.count("record ids", 256))]
        key = lambda b: b
    else:
        raise Invalid("unknown selector kind")
    if not items or not strictly_increasing([key(i) for i in items]):
        raise Invalid("selector set must be non-empty, sorted and unique")
    return ("types" if kind == 1 else "records", items)


def read_body(r, kind):
    if kind == 1:  # EnrollPractitioner
        return {"organisation": code(r, "organisation id"), "practitioner": r.take(32, "identity"),
                "role": code(r, "practitioner role")}
    if kind == 2:  # RegisterRecord
        return {"record": r.take(16, "record id"), "patient": r.take(32, "patient"),
                "custodian": code(r, "organisation id"), "type": code(r, "record type"),
                "commitment": r.take(32, "commitment"), "author": r.take(32, "author")}
    if kind == 3:  # GrantConsent
        grantee_kind = r.u8("grantee kind")
        if grantee_kind == 1:
            grantee = ("practitioner", r.take(32, "identity"))
        elif grantee_kind == 2:
            grantee = ("organisation", code(r, "organisation id"))
        else:
            raise Invalid("unknown grantee kind")
        actions = r.u8("actions")
        if actions == 0 or actions & ~7:
            raise Invalid("actions must be a non-empty set of known actions")
        scope = read_selector(r)
        purposes = [code(r, "purpose code") for _ in range(r.count("purposes", 8))]
        if not purposes or not strictly_increasing([p.encode() for p in purposes]):
            raise Invalid("purposes must be a non-empty sorted set")
        not_before = r.optional("not before", lambda: r.u64("not before"))
        not_after = r.optional("not after", lambda: r.u64("not after"))
        if not_before is not None and not_after is not None and not_before >= not_after:
            raise Invalid("not-before must be earlier than not-after")
        return {"grantee": grantee, "actions": actions, "scope": scope, "purposes": purposes,
                "not_before": not_before, "not_after": not_after}
    if kind == 4:  # RevokeConsent
        return {"grant": r.take(32, "grant id")}
    if kind == 5:  # RecordAccess
        body = {"custodian": code(r, "organisation id"), "patient": r.take(32, "patient")}
        body["action"] = r.u8("action")
        if body["action"] not in (1, 2, 4):
            raise Invalid("unknown action")
        body["selector"] = read_selector(r)
        body["purpose"] = code(r, "purpose code")
        body["grant"] = r.optional("grant", lambda: r.take(32, "grant id"))
        return body
    if kind == 6:  # ServiceResult
        return {"access": r.take(32, "access id"), "model_id": code(r, "model id"), "model_hash": r.take(32, "model hash"),
                "input_hash": r.take(32, "input hash"), "output_hash": r.take(32, "output hash")}
    raise Invalid("unknown transaction kind %d" % kind)


def read_signed_transaction(r):
    start = r.pos
    r.tag("healthledger/tx")
    r.version(1, "transaction")
    tx = {"chain": code(r, "chain id"), "signer": r.take(32, "signer"), "nonce": r.take(16, "nonce"),
          "created": r.u64("created at")}
    tx["kind"] = r.u8("transaction kind")
    tx["body"] = read_body(r, tx["kind"])
    tx["payload"] = r.data[start:r.pos]
    if len(tx["payload"]) + 64 > 16384:
        raise Invalid("transaction too large")
    tx["signature"] = r.take(64, "signature")
    tx["id"] = sha256(tx["payload"])
    return tx


def read_outcome(r):
    decision = r.u8("access decision")
    if decision == 1:
        grant = r.optional("grant", lambda: r.take(32, "grant id"))
        records = [r.take(16, "record id") for _ in range(r.count("released records", 10000))]
        if not strictly_increasing(records):
            raise Invalid("released records must be sorted and unique")
        return ("allowed", grant, records)
    if decision == 2:
        reason = r.u8("denial reason")
        if not 1 <= reason <= 14:
            raise Invalid("unknown denial reason")
        return ("denied", reason)
    raise Invalid("unknown access decision")


def read_entry(r):
    start = r.pos
    tx = read_signed_transaction(r)
    outcome = read_outcome(r) if tx["kind"] == 5 else None
    return {"tx": tx, "outcome": outcome, "bytes": r.data[start:r.pos]}


def read_header(r):
    start = r.pos
    r.tag("healthledger/block")
    r.version(1, "block header")
    h = {"chain": code(r, "chain id"), "height": r.u64("height"), "time": r.u64("time"),
         "previous": r.take(32, "previous"), "root": r.take(32, "root"), "count": r.u32("entry count"),
         "state_root": r.take(32, "state root"), "proposer": r.take(32, "proposer"), "vset": r.take(32, "vset")}
    h["bytes"] = r.data[start:r.pos]
    h["hash"] = sha256(h["bytes"])
    return h


def read_certificate(r):
    c = {"height": r.u64("height"), "round": r.u32("round"), "hash": r.take(32, "block hash"), "signatures": []}
    for _ in range(r.count("certificate signatures", 1024)):
        c["signatures"].append((r.u16("validator index"), r.take(64, "signature")))
    if not strictly_increasing([i for i, _ in c["signatures"]]):
        raise Invalid("validator indices must be ascending and unique")
    return c


def read_committed_block(data):
    r = Reader(data)
    header = read_header(r)
    entries = [read_entry(r) for _ in range(r.count("entries", 100000))]
    certificate = read_certificate(r)
    r.finish()
    return header, entries, certificate


def decode_whole(read, data):
    r = Reader(data)
    value = read(r)
    r.finish()
    return value


# ---------------------------------------------------------------- encoding helpers

def enc_string(s):
    b = s.encode("utf-8")
    return len(b).to_bytes(2, "big") + b


def u8(v): return v.to_bytes(1, "big")
def u16(v): return v.to_bytes(2, "big")
def u32(v): return v.to_bytes(4, "big")
def u64(v): return v.to_bytes(8, "big")


def vote_bytes(chain, vote_type, height, round_, block_hash):
    out = enc_string("healthledger/vote") + u8(1) + enc_string(chain) + u8(vote_type) + u64(height) + u32(round_)
    return out + (u8(1) + block_hash if block_hash is not None else u8(0))


def leaf_hash(data): return sha256(b"\x00" + data)
def node_hash(left, right): return sha256(b"\x01" + left + right)


def merkle_root(leaves):  # leaves: leaf hashes
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def verify_inclusion(leaf, index, size, proof, root):  # RFC 9162 section 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def identity_text(key):
    checksum = sha256(b"healthledger/identity" + key)[:4]
    return "hlk1" + base64.b32encode(key + checksum).decode().lower().rstrip("=")


def identity_from_text(text):
    if not text.startswith("hlk1") or len(text) != 62 or not re.fullmatch(r"[a-z2-7]+", text[4:]):
        raise Invalid("not an identity: " + text)
    raw = base64.b32decode(text[4:].upper() + "======")
    key, checksum = raw[:32], raw[32:]
    if identity_text(key) != text or sha256(b"healthledger/identity" + key)[:4] != checksum:
        raise Invalid("identity checksum or padding bits wrong: " + text)
    return key


def verify_signature(key, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def public_key_from_seed(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# ---------------------------------------------------------------- vector files (FORMAT.md section 12)

def read_vectors(path):
    records, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("#"):
                continue
            if line == "":
                if current:
                    records.append(current)
                current = []
                continue
            key, value = line.split(": ", 1)
            current.append((key, value))
    if current:
        records.append(current)
    return records


def one(record, key):
    values = [v for k, v in record if k == key]
    return values[0] if values else None


def many(record, key):
    return [v for k, v in record if k == key]


def hx(record, key):
    return bytes.fromhex(one(record, key))


class Checker:
    def __init__(self):
        self.checks, self.failures = 0, []

    def expect(self, condition, what):
        self.checks += 1
        if not condition:
            self.failures.append(what)


# ---------------------------------------------------------------- genesis (GENESIS.md, FORMAT.md section 10)

CONSENSUS_U64 = ["blockIntervalMs", "transactionMaxAgeMs", "transactionMaxFutureMs", "blockTimeMaxDriftMs",
                 "timeoutProposeMs", "timeoutVoteMs", "timeoutDeltaMs"]


def parse_time(text):
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z", text)
    if not m:
        raise Invalid("genesisTime form")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000 + int(m.group(7) or 0)


def genesis_from_json(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = enc_string("healthledger/genesis") + u8(1) + enc_string(doc["chainId"]) + u64(parse_time(doc["genesisTime"]))
    out += u32(len(doc["organisations"]))
    for o in doc["organisations"]:
        out += enc_string(o["id"]) + enc_string(o["name"]) + identity_from_text(o["adminKey"])
    out += u32(len(doc["validators"]))
    validators = []
    for v in doc["validators"]:
        key = identity_from_text(v["key"])
        validators.append({"key": key, "power": v["power"], "organisation": v["organisation"]})
        out += enc_string(v["name"]) + enc_string(v["organisation"]) + key + enc_string(v["address"]) + u64(v["power"])
    c = doc["consensus"]
    out += u32(c["blockMaxEntries"]) + u32(c["blockMaxBytes"]) + b"".join(u64(c[n]) for n in CONSENSUS_U64)
    vset = enc_string("healthledger/validators") + u8(1) + u32(len(validators))
    vset += b"".join(v["key"] + u64(v["power"]) for v in validators)
    admins = {o["id"]: identity_from_text(o["adminKey"]) for o in doc["organisations"]}
    return {"doc": doc, "canonical": out, "hash": sha256(out), "vset": vset, "vset_hash": sha256(vset),
            "validators": validators, "admins": admins, "chain": doc["chainId"],
            "time": parse_time(doc["genesisTime"]), "max_age": c["transactionMaxAgeMs"],
            "max_future": c["transactionMaxFutureMs"], "max_entries": c["blockMaxEntries"]}


# ---------------------------------------------------------------- execution and policy (FORMAT.md section 9)

class State:
    def __init__(self):
        self.grants, self.grants_of, self.enrolments, self.records, self.committed = {}, {}, {}, {}, set()
        # service accesses (FORMAT.md 8.4): RecordAccess id -> custodian, block time, height, result id
        self.service = {}


def admit(g, state, tx, height, time, block_ids):
    if tx["chain"] != g["chain"]:
        raise Invalid("wrong chain")
    if tx["created"] > time + g["max_future"]:
        raise Invalid("from the future")
    if tx["created"] + g["max_age"] < time:
        raise Invalid("expired")
    if tx["id"] in state.committed or tx["id"] in block_ids:
        raise Invalid("replay")
    b, signer = tx["body"], tx["signer"]
    if tx["kind"] == 1:
        if g["admins"].get(b["organisation"]) != signer:
            raise Invalid("not the organisation's admin")
        if b["practitioner"] in state.enrolments:
            raise Invalid("already enrolled")
        state.enrolments[b["practitioner"]] = b["organisation"]
    elif tx["kind"] == 2:
        if b["custodian"] not in g["admins"]:
            raise Invalid("unknown organisation")
        if not any(v["key"] == signer and v["organisation"] == b["custodian"] for v in g["validators"]):
            raise Invalid("not a custodian node")
        if b["record"] in state.records:
            raise Invalid("record already registered")
        if b["author"] != b["patient"] and state.enrolments.get(b["author"]) != b["custodian"]:
            raise Invalid("author not permitted")
        state.records[b["record"]] = b
    elif tx["kind"] == 3:
        if b["grantee"][0] == "organisation" and b["grantee"][1] not in g["admins"]:
            raise Invalid("unknown organisation")
        state.grants[tx["id"]] = {"id": tx["id"], "patient": signer, "terms": b, "revoked": None}
        state.grants_of.setdefault(signer, []).append(tx["id"])
    elif tx["kind"] == 4:
        grant = state.grants.get(b["grant"])
        if grant is None or grant["patient"] != signer or grant["revoked"] is not None:
            raise Invalid("revocation not allowed")
        grant["revoked"] = height
    elif tx["kind"] == 5:
        if b["custodian"] not in g["admins"]:
            raise Invalid("unknown organisation")
    elif tx["kind"] == 6:
        node = next((v for v in g["validators"] if v["key"] == signer), None)
        if node is None:
            raise Invalid("notValidatorNode")
        access = state.service.get(b["access"])  # only accesses of earlier blocks are in it (8.1 step 4)
        if access is None:
            raise Invalid("serviceAccessNotFound")
        if access["custodian"] != node["organisation"]:
            raise Invalid("notAccessCustodianNode")
        if time - access["time"] > g["max_age"]:
            raise Invalid("serviceAccessExpired")
        if access["result"] is not None:
            raise Invalid("serviceResultAlreadyCommitted")
        access["result"] = tx["id"]
    block_ids.add(tx["id"])


def add_service_accesses(state, entries, height, time):
    """FORMAT.md 8.1 step 4: the block's allowed diagnose and plan accesses become service accesses."""
    for e in entries:
        tx = e["tx"]
        if tx["kind"] == 5 and tx["body"]["action"] in (2, 4) and e["outcome"][0] == "allowed":
            state.service[tx["id"]] = {"custodian": tx["body"]["custodian"], "time": time, "height": height,
                                       "result": None}


def in_scope(scope, record_id, record):
    kind, items = scope
    return kind == "all" or (kind == "types" and record["type"] in items) or (kind == "records" and record_id in items)


def select(state, req, scope):
    kind, items = req["selector"]
    if kind == "records":
        for rid in items:
            rec = state.records.get(rid)
            if rec is None: return ("denied", 10)
            if rec["patient"] != req["patient"]: return ("denied", 11)
            if rec["custodian"] != req["custodian"]: return ("denied", 12)
            if not in_scope(scope, rid, rec): return ("denied", 13)
        selected = list(items)
    else:
        if kind == "types" and scope[0] == "types" and not set(items) <= set(scope[1]):
            return ("denied", 13)
        selected = sorted(rid for rid, rec in state.records.items()
                          if rec["patient"] == req["patient"] and rec["custodian"] == req["custodian"]
                          and (kind == "all" or rec["type"] in items) and in_scope(scope, rid, rec))
    if len(selected) > 10000:
        return ("denied", 14)
    return ("ok", selected)


def is_grantee(state, requester, grant):
    kind, who = grant["terms"]["grantee"]
    return who == requester if kind == "practitioner" else state.enrolments.get(requester) == who


def evaluate(state, req, requester, height, time):
    if requester == req["patient"]:
        s = select(state, req, ("all", None))
        return ("allowed", None, s[1]) if s[0] == "ok" else s
    if req["grant"] is not None:
        grant = state.grants.get(req["grant"])
        if grant is None: return ("denied", 2)
        if grant["patient"] != req["patient"]: return ("denied", 3)
        if not is_grantee(state, requester, grant): return ("denied", 4)
        candidates = [grant]
    else:
        candidates = [state.grants[i] for i in state.grants_of.get(req["patient"], [])
                      if is_grantee(state, requester, state.grants[i])]
    first_denial = None
    for grant in candidates:
        t = grant["terms"]
        if grant["revoked"] is not None and grant["revoked"] <= height: d = ("denied", 5)
        elif t["not_before"] is not None and time < t["not_before"]: d = ("denied", 6)
        elif t["not_after"] is not None and time >= t["not_after"]: d = ("denied", 7)
        elif not t["actions"] & req["action"]: d = ("denied", 8)
        elif req["purpose"] not in t["purposes"]: d = ("denied", 9)
        else:
            s = select(state, req, t["scope"])
            d = ("allowed", grant["id"], s[1]) if s[0] == "ok" else s
        if d[0] == "allowed":
            return d
        first_denial = first_denial or d
    return first_denial or ("denied", 1)


# ---------------------------------------------------------------- the ServiceResult rules, one by one

def check_service_result_rules(c, g, state, names, head_time):
    """Admits crafted ServiceResult transactions (signatures are checked apart, section 11) against copies of
    the replayed state, each breaking one rule of FORMAT.md 8.3, and one that breaks none."""
    st_marys_2 = next(v["key"] for v in g["validators"] if v["organisation"] == "st-marys" and v["key"] != g["validators"][0]["key"])
    other_node = next(v["key"] for v in g["validators"] if v["organisation"] != "st-marys")
    alice = public_key_from_seed(sha256(b"healthledger-test-key/example/patient-alice"))
    fresh = b"\x42" * 32  # an allowed diagnose access of st-marys, committed at head_time, not answered
    counter = [0]

    def attempt(access, signer, time):
        trial = copy.deepcopy(state)
        trial.service[fresh] = {"custodian": "st-marys", "time": head_time, "height": 99, "result": None}
        counter[0] += 1
        tx = {"chain": g["chain"], "signer": signer, "created": time, "kind": 6, "id": sha256(b"trial %d" % counter[0]),
              "body": {"access": access, "model_id": "heart-v1", "model_hash": b"\x00" * 32, "input_hash": b"\x00" * 32,
                       "output_hash": b"\x00" * 32}}
        try:
            admit(g, trial, tx, 100, time, set())
            return "accepted"
        except Invalid as error:
            return str(error)

    t = head_time + 1
    cases = [
        ("a fresh access, its custodian's node", attempt(fresh, st_marys_2, t), "accepted"),
        ("at the end of the replay window", attempt(fresh, st_marys_2, head_time + g["max_age"]), "accepted"),
        ("one ms past the replay window", attempt(fresh, st_marys_2, head_time + g["max_age"] + 1), "serviceAccessExpired"),
        ("signed by a patient", attempt(fresh, alice, t), "notValidatorNode"),
        ("signed by another organisation's node", attempt(fresh, other_node, t), "notAccessCustodianNode"),
        ("an access already answered", attempt(names["record-access-diagnose"], st_marys_2, t), "serviceResultAlreadyCommitted"),
        ("a read access", attempt(names["record-access-allowed"], st_marys_2, t), "serviceAccessNotFound"),
        ("a denied diagnose access", attempt(names["record-access-revoked-same-block"], st_marys_2, t), "serviceAccessNotFound"),
        ("a transaction that is no access", attempt(names["grant-consent-diagnose"], st_marys_2, t), "serviceAccessNotFound"),
    ]
    for what, got, expected in cases:
        c.expect(got == expected, "service result rule, %s: %s, expected %s" % (what, got, expected))


# ---------------------------------------------------------------- the checks

def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("error: unexpected arguments %s (usage: scripts/verify-vectors.py [repository root])" % " ".join(args), file=sys.stderr)
        return 2
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    vectors = os.path.join(root, "Tests", "LedgerTests", "Vectors")
    c = Checker()

    for rec in read_vectors(os.path.join(vectors, "identities.txt")):
        key = hx(rec, "public-key")
        c.expect(public_key_from_seed(hx(rec, "seed")) == key, "identity key from seed " + one(rec, "name"))
        c.expect(sha256(("healthledger-test-key/" + one(rec, "name")).encode()) == hx(rec, "seed"), "test key seed")
        c.expect(sha256(b"healthledger/identity" + key)[:4] == hx(rec, "checksum"), "identity checksum")
        c.expect(identity_text(key) == one(rec, "text"), "identity text " + one(rec, "name"))
        c.expect(identity_from_text(one(rec, "text")) == key, "identity parse")

    transactions = {}
    for rec in read_vectors(os.path.join(vectors, "transactions.txt")):
        name = one(rec, "name")
        tx = decode_whole(read_signed_transaction, hx(rec, "signed"))
        transactions[tx["id"]] = name
        c.expect(tx["payload"] == hx(rec, "payload") and tx["signature"] == hx(rec, "signature"), "split " + name)
        c.expect(tx["id"] == hx(rec, "id"), "transaction id " + name)
        c.expect(tx["nonce"] == sha256(("healthledger-vector-nonce/" + name).encode())[:16], "nonce " + name)
        c.expect(tx["created"] == int(one(rec, "created-at-ms")), "created at " + name)
        c.expect(public_key_from_seed(hx(rec, "seed")) == tx["signer"], "signer matches seed " + name)
        c.expect(verify_signature(tx["signer"], tx["signature"], tx["payload"]), "signature " + name)
        seed = hx(rec, "seed")
        resigned = Ed25519PrivateKey.from_private_bytes(seed).sign(tx["payload"])
        c.expect(resigned == tx["signature"], "deterministic signature " + name)

    for rec in read_vectors(os.path.join(vectors, "outcomes.txt")):
        if one(rec, "outcome") is not None:
            decode_whole(read_outcome, hx(rec, "outcome"))
            c.checks += 1
        else:
            entry = decode_whole(read_entry, hx(rec, "entry"))
            c.expect(transactions.get(entry["tx"]["id"]) == one(rec, "transaction"), "entry transaction")
            c.expect(leaf_hash(entry["bytes"]) == hx(rec, "leaf-hash"), "entry leaf hash")

    for rec in read_vectors(os.path.join(vectors, "merkle.txt")):
        count = int(one(rec, "leaf-count"))
        if one(rec, "index") is None:
            leaves = [bytes.fromhex(v) for v in many(rec, "leaf")]
            c.expect(leaves == [("leaf %d" % i).encode() for i in range(count)], "merkle leaves")
            hashes = [leaf_hash(l) for l in leaves]
            c.expect(hashes == [bytes.fromhex(v) for v in many(rec, "leaf-hash")], "merkle leaf hashes")
            c.expect(merkle_root(hashes) == hx(rec, "root"), "merkle root " + one(rec, "name"))
        else:
            proof = [bytes.fromhex(v) for v in many(rec, "proof")]
            c.expect(verify_inclusion(hx(rec, "leaf-hash"), int(one(rec, "index")), count, proof, hx(rec, "root")),
                     "inclusion proof " + one(rec, "name"))
            c.expect(not verify_inclusion(hx(rec, "leaf-hash"), int(one(rec, "index")) ^ 1, count, proof, hx(rec, "root")),
                     "inclusion proof rejects another index")

    grec = read_vectors(os.path.join(vectors, "genesis.txt"))[0]
    g = genesis_from_json(os.path.join(root, one(grec, "file")))
    c.expect(g["canonical"] == hx(grec, "canonical"), "genesis canonical bytes from genesis/example.json")
    c.expect(g["hash"] == hx(grec, "hash"), "genesis hash")
    c.expect(g["vset"] == hx(grec, "validator-set"), "validator-set bytes")
    c.expect(g["vset_hash"] == hx(grec, "validator-set-hash"), "validator-set hash")

    # The chain: structure, links, certificates, signatures, and a full replay of the rules.
    state, previous, previous_time, height = State(), g["hash"], g["time"], 0
    total_power = sum(v["power"] for v in g["validators"])
    for rec in read_vectors(os.path.join(vectors, "chain.txt")):
        header, entries, cert = read_committed_block(hx(rec, "committed"))
        height += 1
        where = "block %d: " % height
        c.expect(header["bytes"] == hx(rec, "header") and header["hash"] == hx(rec, "hash"), where + "header hash")
        c.expect(header["chain"] == g["chain"], where + "chain id")
        c.expect(header["height"] == height, where + "height")
        c.expect(header["previous"] == previous, where + "previous hash")
        c.expect(header["time"] > previous_time, where + "time increases")
        c.expect(header["vset"] == g["vset_hash"], where + "validator set hash")
        c.expect(any(v["key"] == header["proposer"] for v in g["validators"]), where + "proposer")
        c.expect(header["count"] == len(entries) <= g["max_entries"], where + "entry count")
        c.expect([e["bytes"] for e in entries] == [bytes.fromhex(v) for v in many(rec, "entry")], where + "entries")
        root_ = merkle_root([leaf_hash(e["bytes"]) for e in entries])
        c.expect(root_ == header["root"] == hx(rec, "entries-root"), where + "entries root")
        c.expect(cert["height"] == height and cert["hash"] == header["hash"], where + "certificate names the block")
        vote = vote_bytes(g["chain"], 2, height, cert["round"], header["hash"])
        c.expect(vote == hx(rec, "vote"), where + "vote bytes")
        c.expect(cert == decode_whole(read_certificate, hx(rec, "certificate")), where + "certificate bytes")
        c.expect([i for i, _ in cert["signatures"]] == [int(v) for v in many(rec, "signer-index")], where + "signers")
        power = 0
        for index, signature in cert["signatures"]:
            c.expect(index < len(g["validators"]), where + "validator index")
            validator = g["validators"][index]
            power += validator["power"]
            c.expect(verify_signature(validator["key"], signature, vote), where + "certificate signature %d" % index)
        c.expect(3 * power > 2 * total_power, where + "more than 2/3 of the voting power")
        for e in entries:
            c.expect(verify_signature(e["tx"]["signer"], e["tx"]["signature"], e["tx"]["payload"]), where + "tx signature")
        # Execution: admit in order (non-access effects apply at once), then decide every access at the end.
        block_ids = set()
        try:
            for e in entries:
                admit(g, state, e["tx"], height, header["time"], block_ids)
            c.checks += 1
        except Invalid as error:
            c.failures.append(where + "rules: " + str(error))
        for e in entries:
            if e["tx"]["kind"] == 5:
                derived = evaluate(state, e["tx"]["body"], e["tx"]["signer"], height, header["time"])
                c.expect(derived == e["outcome"], where + "access outcome of " + transactions[e["tx"]["id"]])
        add_service_accesses(state, entries, height, header["time"])
        state.committed |= block_ids
        previous, previous_time = header["hash"], header["time"]

    names = {name: tx_id for tx_id, name in transactions.items()}
    answered = state.service.get(names.get("record-access-diagnose"))
    c.expect(answered is not None and answered["result"] == names.get("service-result"),
             "the diagnose access of block 4 is answered by the service result of block 5")
    check_service_result_rules(c, g, state, names, previous_time)

    for failure in c.failures:
        print("FAIL:", failure)
    print("verify-vectors: %d checks, %d failures" % (c.checks, len(c.failures)))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
