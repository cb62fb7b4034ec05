# oe-unbound.py: DNS-triggered opportunistic encryption, for unbound's Python
# module. For a DNSSEC-secure A or AAAA answer, oe-agent is asked to
# negotiate with each address (ipsec initiate ADDR --wait) before the answer
# goes back, so the application's first packet finds the tunnel up instead of
# waiting in a hold. The agent decides: an address outside private-or-clear
# and private is refused at once, an address without a key in DNS gets its
# group's shunt; either way the answer goes back, at the latest after the
# wait. unbound's worker thread waits with it: give unbound enough threads.
#
# unbound.conf:
#   server:
#     module-config: "python validator iterator"
#   python:
#     python-script: "/usr/local/share/oe/oe-unbound.py"
# and in unbound's environment (defaults in brackets):
#   OE_IPSEC     the ipsec command [/usr/local/sbin/ipsec]
#   OE_CTLSOCKET the agent's control socket [/run/oe/oe.ctl]
#   OE_WAIT      seconds to hold an answer for its tunnel [2]
#   OE_MAX_ADDRS addresses of one answer to negotiate with [4]
# unbound needs unboundmodule.py (Debian: python3-unbound); should it say
# "cannot initialize core module", start it with
# PYTHONPATH=/usr/lib/python3/dist-packages. Answers unbound gives from its
# cache do not pass through here: for those the first packet's ACQUIRE
# starts the negotiation, as without this module.
import os
import socket
import subprocess

IPSEC = os.environ.get("OE_IPSEC", "/usr/local/sbin/ipsec")
CTLSOCKET = os.environ.get("OE_CTLSOCKET", "/run/oe/oe.ctl")
WAIT = os.environ.get("OE_WAIT", "2")
MAX_ADDRS = int(os.environ.get("OE_MAX_ADDRS", "4"))
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


def initiate(addr):
    try:
        r = subprocess.run([IPSEC, "initiate", addr, "--wait", WAIT, "--ctlsocket", CTLSOCKET],
                           capture_output=True, text=True, timeout=float(WAIT) + 1)
        log_info("oe-unbound: %s: %s" % (addr, (r.stdout or r.stderr).strip()))
    except (OSError, subprocess.SubprocessError) as e:
        log_info("oe-unbound: %s: cannot ask oe-agent: %s" % (addr, e))


def init_standard(id, env):
    log_info("oe-unbound: secure A/AAAA answers wait up to %ss for their tunnels (%s)" % (WAIT, CTLSOCKET))
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
            for addr in answer_addresses(msg.rep):
                initiate(addr)
        qstate.ext_state[id] = MODULE_FINISHED
        return True
    qstate.ext_state[id] = MODULE_ERROR
    return True
