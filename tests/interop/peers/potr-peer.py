#!/usr/bin/python3
"""An OTR peer on python-potr for blink-tui's interoperability tests and benchmarks.

    potr-peer.py peer                      JSON lines on stdin (commands) and stdout (events),
                                           the same protocol as libotr-peer (see README.md here)
    potr-peer.py bench <op> <n> <keydir>   both OTR parties in this process; prints one JSON line
                                           with the wall time; op is keygen, ake, msg or smp
    potr-peer.py version                   prints the potr version

Run it with /usr/bin/python3: Debian's python3-potr and python3-pycryptodome live there.
"""
import json
import logging
import os
import sys
import time

from Cryptodome.Cipher import AES
from Cryptodome.PublicKey import DSA

import potr
from potr import crypt, proto
from potr.compatcrypto import pycrypto
from potr.context import (Account, Context, ErrorReceived, FRAGMENT_SEND_ALL, NotEncryptedError, NotOTRMessage,
                          STATE_ENCRYPTED, STATE_FINISHED, UnencryptedMessage)
from potr.utils import bytes_to_long, long_to_bytes

# --------------------------------------------------------------------------------------------------
# potr 1.0.2 was written for PyCrypto; Debian ships pycryptodome, which dropped the APIs below.
# Each replacement keeps potr's calling convention and does what the PyCrypto call did.


def _aes_ctr(key, counter=0):
    # potr's Counter holds the 8-byte top half of OTR's 16-byte counter block; the low half starts at 0.
    if not isinstance(counter, pycrypto.Counter):
        counter = pycrypto.Counter(counter)
    return AES.new(key, AES.MODE_CTR, nonce=counter.byteprefix(), initial_value=0)


def _dsa_sign(self, data):
    # PyCrypto's DSA sign took the hash as an integer; OTR signs the 32-byte MAC value that way.
    k = pycrypto.randrange(2, self.priv.q)
    r, s = self.priv._sign(bytes_to_long(data), k)
    return long_to_bytes(r, 20) + long_to_bytes(s, 20)


def _dsa_verify(self, data, sig):
    r, s = bytes_to_long(sig[:20]), bytes_to_long(sig[20:])
    return self.pub._verify(bytes_to_long(data), (r, s))


@classmethod
def _dsa_generate(cls):
    key = DSA.generate(1024)
    return cls((int(key.y), int(key.g), int(key.p), int(key.q), int(key.x)), private=True)


pycrypto.AESCTR = _aes_ctr
crypt.AESCTR = _aes_ctr
pycrypto.DSAKey.sign = _dsa_sign
pycrypto.DSAKey.verify = _dsa_verify
pycrypto.DSAKey.generate = _dsa_generate

logging.basicConfig(stream=sys.stderr, level=logging.ERROR)


def potr_version():
    try:
        from importlib.metadata import version
        return version('python-potr')
    except Exception:  # the distribution metadata is optional; fall back to the module's own tuple
        return '.'.join(str(x) for x in potr.VERSION[:3])


# --------------------------------------------------------------------------------------------------

POLICIES = {
    'opportunistic': {'ALLOW_V2': True, 'SEND_TAG': True, 'WHITESPACE_START_AKE': True, 'ERROR_START_AKE': True},
    'manual': {'ALLOW_V2': True},
    'always': {'ALLOW_V2': True, 'REQUIRE_ENCRYPTION': True, 'WHITESPACE_START_AKE': True, 'ERROR_START_AKE': True},
    'never': {},
}
FLAG_NAMES = {'ALLOW_V2': 'ALLOW_V2', 'ALLOW_V3': None, 'REQUIRE_ENCRYPTION': 'REQUIRE_ENCRYPTION',
              'SEND_WHITESPACE_TAG': 'SEND_TAG', 'WHITESPACE_START_AKE': 'WHITESPACE_START_AKE',
              'ERROR_START_AKE': 'ERROR_START_AKE'}


def parse_policy(spec):
    if spec is None:
        return dict(POLICIES['opportunistic'])
    if spec in POLICIES:
        return dict(POLICIES[spec])
    out = {}
    for name in spec.split(','):
        if name not in FLAG_NAMES:
            raise ValueError('bad policy flag %r' % name)
        if FLAG_NAMES[name]:  # potr has no v3: ALLOW_V3 is accepted and has no effect
            out[FLAG_NAMES[name]] = True
    return out


class PeerAccount(Account):
    def __init__(self, name, protocol, mms, keyfile, policy, sink):
        super().__init__(name, protocol, mms)
        self.keyfile = keyfile
        self.policy_flags = policy
        self.sink = sink  # called with every message potr injects

    def loadPrivkey(self):
        if self.keyfile and os.path.exists(self.keyfile):
            with open(self.keyfile, 'rb') as f:
                return potr.compatcrypto.PK.parsePrivateKey(f.read())[0]
        return None

    def savePrivkey(self):
        if not self.keyfile:
            return
        # written under a private name, then renamed: parallel test processes never read half a key
        tmp = '%s.tmp.%d' % (self.keyfile, os.getpid())
        with open(tmp, 'wb') as f:
            f.write(self.privkey.serializePrivateKey())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.keyfile)

    def saveTrusts(self):
        pass


class PeerContext(Context):
    def getPolicy(self, key):
        return self.user.policy_flags.get(key, False)

    def inject(self, msg, appdata=None):
        self.user.sink(msg.decode('utf-8') if isinstance(msg, bytes) else msg)


Account.contextclass = PeerContext


def text_of(x):
    if x is None:
        return None
    return x.decode('utf-8', 'replace') if isinstance(x, bytes) else str(x)


def smp_events(ctx, tlvs):
    """Turns the SMP TLVs potr just handled into the events libotr would report."""
    out = []
    smp = ctx.crypto.smp
    for tlv in tlvs or []:
        if not isinstance(tlv, proto.SMPTLV):
            continue
        prog = smp.prog if smp else crypt.SMPPROG_CHEATED
        if isinstance(tlv, proto.SMPABORTTLV):
            out.append({'event': 'aborted'})
        elif isinstance(tlv, (proto.SMP1TLV, proto.SMP1QTLV)):
            if smp and smp.state == 0 and prog == crypt.SMPPROG_OK:
                ev = {'event': 'asked'}
                if isinstance(tlv, proto.SMP1QTLV):
                    ev['question'] = text_of(tlv.msg)
                out.append(ev)
            else:
                out.append({'event': 'cheated'})
        elif isinstance(tlv, proto.SMP2TLV):
            out.append({'event': 'in_progress'} if prog == crypt.SMPPROG_OK else {'event': 'cheated'})
        elif isinstance(tlv, (proto.SMP3TLV, proto.SMP4TLV)):
            if prog == crypt.SMPPROG_SUCCEEDED:
                out.append({'event': 'success'})
            elif prog == crypt.SMPPROG_FAILED:
                out.append({'event': 'failure'})
            else:
                out.append({'event': 'cheated'})
    return out


def state_name(ctx):
    if ctx.state == STATE_ENCRYPTED:
        return 'encrypted'
    if ctx.state == STATE_FINISHED:
        return 'finished'
    return 'plaintext'


def their_fingerprint(ctx):
    key = ctx.crypto.theirPubkey
    return key.cfingerprint().upper() if key is not None else None


# --------------------------------------------------------------------------------------------------
# peer mode


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def run_peer():
    account = ctx = None
    last_state = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd['op']
        except (ValueError, KeyError, TypeError):
            emit({'ev': 'error', 'message': 'bad JSON command'})
            continue
        if op == 'quit':
            break
        try:
            if op == 'init':
                if account is not None:
                    raise RuntimeError('already initialised')
                if not cmd.get('keyfile'):
                    raise RuntimeError('init needs keyfile')
                account = PeerAccount(cmd.get('account') or 'potr@test', cmd.get('protocol') or 'xmpp',
                                      int(cmd.get('fragment_size') or 0), cmd['keyfile'],
                                      parse_policy(cmd.get('policy')),
                                      lambda wire: emit({'ev': 'wire', 'wire': wire}))
                ctx = account.getContext(cmd.get('peer') or 'peer@test')
                key = account.getPrivkey()
                emit({'ev': 'ready', 'fingerprint': key.cfingerprint().upper(), 'instance_tag': None,
                      'library': 'potr', 'version': potr_version()})
            elif account is None:
                raise RuntimeError('init first')
            elif op == 'recv':
                wire = cmd['wire'].encode('utf-8')
                text, encrypted, tlvs = None, False, []
                try:
                    res = ctx.receiveMessage(wire)
                    if res is not None:
                        text, tlvs = res
                        encrypted = text is not None
                except UnencryptedMessage as e:
                    emit({'ev': 'otr_event', 'name': 'rcvdmsg_unencrypted'})
                    text = e.args[0] if e.args else wire
                except NotOTRMessage as e:
                    text = e.args[0] if e.args else wire
                except ErrorReceived as e:
                    err = e.args[0] if e.args else None
                    emit({'ev': 'otr_event', 'name': 'rcvdmsg_general_err',
                          'message': text_of(getattr(err, 'error', None)) or str(err)})
                except NotEncryptedError:
                    emit({'ev': 'otr_event', 'name': 'rcvdmsg_not_in_private'})
                except crypt.InvalidParameterError:
                    emit({'ev': 'otr_event', 'name': 'rcvdmsg_unreadable'})
                for ev in smp_events(ctx, tlvs):
                    emit(dict(ev, ev='smp'))
                if text is not None:
                    emit({'ev': 'message', 'text': text_of(text), 'encrypted': bool(encrypted)})
            elif op == 'send':
                out = ctx.sendMessage(FRAGMENT_SEND_ALL, cmd['text'].encode('utf-8'))
                if out is not None:  # plaintext (maybe tagged) or a query: ours to transmit
                    emit({'ev': 'wire', 'wire': text_of(out)})
            elif op == 'start':
                emit({'ev': 'wire', 'wire': text_of(account.getDefaultQueryMessage(ctx.getPolicy))})
            elif op == 'end':
                ctx.disconnect()
            elif op in ('smp', 'smp_respond'):
                if ctx.state != STATE_ENCRYPTED:
                    raise RuntimeError('not encrypted')
                secret = cmd['secret'].encode('utf-8')
                if op == 'smp':
                    q = cmd.get('question')
                    ctx.smpInit(secret, question=q.encode('utf-8') if q is not None else None)
                else:
                    ctx.smpGotSecret(secret)
            elif op == 'smp_abort':
                ctx.smpAbort()
            elif op == 'fingerprint':
                emit({'ev': 'fingerprint', 'ours': account.getPrivkey().cfingerprint().upper(),
                      'theirs': their_fingerprint(ctx)})
            elif op == 'status':
                last_state = None
            else:
                raise RuntimeError('unknown op')
        except Exception as e:  # one bad command must not kill the peer: report it and go on
            emit({'ev': 'error', 'message': '%s: %s' % (type(e).__name__, e)})
        if ctx is not None:
            enc = ctx.state == STATE_ENCRYPTED
            st = (state_name(ctx), 2 if enc else None, their_fingerprint(ctx) if enc else None)
            if st != last_state:
                last_state = st
                emit({'ev': 'state', 'state': st[0], 'version': st[1], 'fingerprint': st[2]})
        done = {'ev': 'done', 'op': op}
        if 'id' in cmd:
            done['id'] = cmd['id']
        emit(done)
    return 0


# --------------------------------------------------------------------------------------------------
# bench mode


class BenchParty:
    def __init__(self, name, peer, keyfile):
        self.inbox = []
        self.other = None
        self.account = PeerAccount(name, 'bench', 0, keyfile, dict(POLICIES['manual']), self.deliver)
        self.ctx = self.account.getContext(peer)
        self.peer = peer

    def deliver(self, wire):
        self.other.inbox.append(wire.encode('utf-8'))

    def reset(self):
        self.account.ctxs = {}
        self.ctx = self.account.getContext(self.peer)

    def receive(self, wire):
        try:
            return self.ctx.receiveMessage(wire)
        except (NotOTRMessage, UnencryptedMessage):
            return None


def pump(a, b):
    rounds = 0
    last = {}
    while a.inbox or b.inbox:
        rounds += 1
        if rounds > 10000:
            raise RuntimeError('messages never stop')
        for p in (a, b):
            batch, p.inbox = p.inbox, []
            for w in batch:
                res = p.receive(w)
                if res is not None:
                    for ev in smp_events(p.ctx, res[1]):
                        last[p] = ev['event']
    return last


def bench_ake(a, b):
    a.reset()
    b.reset()
    b.inbox.append(a.account.getDefaultQueryMessage(a.ctx.getPolicy))
    pump(a, b)
    if a.ctx.state != STATE_ENCRYPTED or b.ctx.state != STATE_ENCRYPTED:
        raise RuntimeError('AKE did not complete')


def run_bench(what, n, keydir):
    n = max(1, n)
    ok = True
    if what == 'keygen':
        t0 = time.perf_counter()
        for _ in range(n):
            pycrypto.DSAKey.generate()
        t1 = time.perf_counter()
    else:
        a = BenchParty('alice@bench', 'bob@bench', os.path.join(keydir, 'potr-alice.key'))
        b = BenchParty('bob@bench', 'alice@bench', os.path.join(keydir, 'potr-bob.key'))
        a.other, b.other = b, a
        a.account.getPrivkey()
        b.account.getPrivkey()
        if what == 'ake':
            t0 = time.perf_counter()
            for _ in range(n):
                bench_ake(a, b)
            t1 = time.perf_counter()
        elif what == 'msg':
            bench_ake(a, b)
            text = bytes((ord('a') + i % 26) for i in range(1024))
            t0 = time.perf_counter()
            for i in range(n):
                # 50 messages one way, then 50 back: keys rotate at each turn, as in a conversation
                src = b if (i // 50) % 2 else a
                dst = src.other
                src.ctx.sendMessage(FRAGMENT_SEND_ALL, text)
                if len(dst.inbox) != 1:
                    raise RuntimeError('expected one wire message')
                got = dst.receive(dst.inbox.pop())
                if got is None or got[0] != text:
                    ok = False
                pump(a, b)
            t1 = time.perf_counter()
        elif what == 'smp':
            bench_ake(a, b)
            secret = b'correct horse battery staple'
            t0 = time.perf_counter()
            for _ in range(n):
                a.ctx.smpInit(secret)
                pump(a, b)
                b.ctx.smpGotSecret(secret)
                last = pump(a, b)
                if last.get(a) != 'success' or last.get(b) != 'success':
                    ok = False
            t1 = time.perf_counter()
        else:
            sys.stderr.write('unknown bench op %s\n' % what)
            return 2
    print(json.dumps({'library': 'potr', 'version': potr_version(), 'op': what, 'iterations': n,
                      'total_ms': (t1 - t0) * 1000.0, 'ok': ok}))
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == 'version':
        print(potr_version())
        return 0
    if len(argv) >= 2 and argv[1] == 'peer':
        return run_peer()
    if len(argv) >= 5 and argv[1] == 'bench':
        return run_bench(argv[2], int(argv[3]), argv[4])
    sys.stderr.write('usage: potr-peer.py peer | bench <keygen|ake|msg|smp> <iterations> <keydir> | version\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
