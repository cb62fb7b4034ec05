# oe-unbound.py: DNS-triggered opportunistic encryption, for unbound's Python
# module. For a DNSSEC-secure A or AAAA answer, oe-agent is asked to
# negotiate with each address (ipsec initiate ADDR --wait) before the answer
# goes back, so the application's first packet finds the tunnel up instead of
# waiting in a hold. The agent decides: an address outside private-or-clear
# and private is refused at once, an address without a key in DNS gets its
# group's shunt; either way the answer goes back, at the latest after
# OE_WAIT. The addresses of one answer are asked at once, and at most
# OE_MAX_WAITING answers wait at a time (an answer beyond that goes back at
# once, its negotiations started all the same): a stranger's slow zone costs
# a worker thread OE_WAIT seconds at most, never the resolver.
#
# The agent itself must not use this unbound as its resolver: its own key
# lookups would wait behind the answers that wait for them. Point oe.conf's
# resolver at another (or at this unbound's upstream).
#
# unbound.conf:
#   server:
#     module-config: "python validator iterator"
#   python:
#     python-script: "/usr/local/share/oe/oe-unbound.py"
# and in unbound's environment (defaults in brackets):
#   OE_IPSEC       the ipsec command [/usr/local/sbin/ipsec]
#   OE_CTLSOCKET   the agent's control socket [/run/oe/oe.ctl]; unbound's user
#                  must be able to use it (oe.conf control-group)
#   OE_WAIT        seconds an answer waits for its tunnels [2]
#   OE_MAX_ADDRS   addresses of one answer to negotiate with [4]
#   OE_MAX_WAITING answers waiting at once [8]
# unbound needs unboundmodule.py (Debian: python3-unbound); should it say
# "cannot initialize core module", start it with
# PYTHONPATH=/usr/lib/python3/dist-packages. Answers unbound gives from its
# cache do not pass through here: for those the first packet's ACQUIRE
# starts the negotiation, as without this module.
import os
import socket
import subprocess
import threading
import time


def setting(name, default, kind):
    try:
        return kind(os.environ.get(name, default))
    except ValueError:
        return kind(default)


IPSEC = os.environ.get("OE_IPSEC", "/usr/local/sbin/ipsec")
CTLSOCKET = os.environ.get("OE_CTLSOCKET", "/run/oe/oe.ctl")
WAIT = min(max(setting("OE_WAIT", "2", float), 0.0), 30.0)
MAX_ADDRS = max(setting("OE_MAX_ADDRS", "4", int), 0)
WAITING = threading.BoundedSemaphore(max(setting("OE_MAX_WAITING", "8", int), 1))
FAMILY = {"A": (socket.AF_INET, 4), "AAAA": (socket.AF_INET6, 16)}


def answer_addresses(rep):
    """The addresses in the answer section's A and AAAA sets (rdata after its 2-octet length)."""
    out = []
    for i in range(rep.an_numrrsets):
        rrset = rep.rrsets[i]
        fam = FAMILY.get(rrset.rk.type_str)
        if fam is None:
            continue
        data = rrset.entry.data
        for j in range(data.count):
            rd = bytes(data.rr_data[j])
            if len(rd) == 2 + fam[1]:
                out.append(socket.inet_ntop(fam[0], rd[2:]))
    return out[:MAX_ADDRS]


def initiate_all(addrs):
    """Ask for every address at once; wait for all of them until WAIT, if a waiting slot is free."""
    wait = WAITING.acquire(blocking=False)
    procs = []
    for addr in addrs:
        args = [IPSEC, "initiate", addr, "--ctlsocket", CTLSOCKET] + (["--wait", "%g" % WAIT] if wait else [])
        try:
            procs.append((addr, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        except OSError as e:
            log_info("oe-unbound: %s: cannot ask oe-agent: %s" % (addr, e))
    until = time.monotonic() + WAIT + 1
    try:
        for addr, p in procs:
            try:
                out, _ = p.communicate(timeout=max(until - time.monotonic(), 0.01))
                log_info("oe-unbound: %s: %s" % (addr, out.strip()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                log_info("oe-unbound: %s: no answer from oe-agent within %gs" % (addr, WAIT))
    finally:
        if wait:
            WAITING.release()


def init_standard(id, env):
    log_info("oe-unbound: secure A/AAAA answers wait up to %gs for their tunnels (%s)" % (WAIT, CTLSOCKET))
    return True


def deinit(id):
    return True


def inform_super(id, qstate, superqstate, qdata):
    return True


def operate(id, event, qstate, qdata):
    if event in (MODULE_EVENT_NEW, MODULE_EVENT_PASS):
        qstate.ext_state[id] = MODULE_WAIT_MODULE
        return True
    if event == MODULE_EVENT_MODDONE:
        msg = qstate.return_msg
        if msg is not None and msg.rep is not None and msg.rep.security == sec_status_secure:
            addrs = answer_addresses(msg.rep)
            if addrs:
                initiate_all(addrs)
        qstate.ext_state[id] = MODULE_FINISHED
        return True
    qstate.ext_state[id] = MODULE_ERROR
    return True
